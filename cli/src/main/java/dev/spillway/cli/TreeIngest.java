package dev.spillway.cli;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import dev.spillway.config.Sizes;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * {@code ingest <file|dir|-> --into DIR}: stores a file, standard input or a whole tree into the
 * durable map in DIR through the streams API ({@code Spillway#mapSink}): each path relative to the
 * tree is a key, its value a {@link TreeEntry} (contents, or a symbolic link's target, never followed;
 * mode bits kept); files over {@value TreeEntry#CHUNK} bytes go in chunks, the head last. Other file
 * types (sockets, devices, pipes) are skipped and counted. When the stream is done the map is forced
 * to the device, so everything reported stored is durable.
 */
final class TreeIngest {
  private final PrintStream out;
  private final PrintStream err;
  private final Supplier<InputStream> stdin;
  private final boolean terminal;

  TreeIngest(PrintStream out, PrintStream err, Supplier<InputStream> stdin, boolean terminal) {
    this.out = out;
    this.err = err;
    this.stdin = stdin;
    this.terminal = terminal;
  }

  /** One path to store. */
  private record Item(String key, Path file, TreeEntry.Kind kind, int mode, long size, String linkTarget) {}

  int run(Options o) throws Exception {
    String source = o.arguments().getFirst();
    List<Item> items = new ArrayList<>();
    long[] skipped = {0};
    if (source.equals("-")) {
      items.add(new Item(o.value("--key", "stdin"), null, TreeEntry.Kind.FILE, 0644, -1, null));
    } else {
      Path root = Path.of(source).toAbsolutePath().normalize();
      if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
        throw new CommandException("ingest: " + root + " does not exist");
      }
      if (Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) {
        walk(root, items, skipped);
      } else {
        Item one = item(root, root.getFileName().toString());
        if (one == null) {
          throw new CommandException("ingest: " + root + " is not a regular file, a link or a directory");
        }
        items.add(one);
      }
    }
    long total = items.stream().mapToLong(i -> Math.max(0, i.size())).sum();
    long start = System.nanoTime();
    AtomicLong bytes = new AtomicLong();
    AtomicLong done = new AtomicLong();
    try (MapDirectory m = MapDirectory.open(o.value("--into", ""), true, o.value("--budget", null),
        o.value("--codec", null))) {
      if (m.snapshot) {
        throw new CommandException("ingest: " + m.directory + " is a snapshot, which never changes. Fix: restore it"
            + " into a new directory (spillway snapshot --restore) or ingest into another");
      }
      Progress progress = new Progress(err, terminal, items.size(), total, bytes, done);
      Source<Map.Entry<String, byte[]>, NotUsed> entries = Source.from(items)
          .flatMapConcat(item -> Source.fromIterator(() -> new ItemEntries(item, bytes, () -> {
            done.incrementAndGet();
            progress.maybePrint();
          })));
      long stored = entries.runWith(m.spillway.mapSink(m.map), m.spillway.system()).toCompletableFuture()
          .get(7, TimeUnit.DAYS);
      m.map.sync();
      progress.finish();
      double seconds = (System.nanoTime() - start) / 1e9;
      long files = items.stream().filter(i -> i.kind() == TreeEntry.Kind.FILE).count();
      long links = items.stream().filter(i -> i.kind() == TreeEntry.Kind.LINK).count();
      long dirs = items.stream().filter(i -> i.kind() == TreeEntry.Kind.DIRECTORY).count();
      out.printf(Locale.ROOT, "ingest: stored %d files, %d links, %d directories (%d entries) from %s into %s:"
              + " %s in %.2f s (%.0f MiB/s), durable%s%n", files, links, dirs, stored,
          source.equals("-") ? "standard input" : source, m.directory, Sizes.format(bytes.get()), seconds,
          bytes.get() / (double) (1 << 20) / Math.max(seconds, 1e-9),
          skipped[0] == 0 ? "" : "; skipped " + skipped[0] + " special files (sockets, devices, pipes)");
      return 0;
    }
  }

  private void walk(Path root, List<Item> items, long[] skipped) throws IOException {
    Files.walkFileTree(root, EnumSet.noneOf(FileVisitOption.class), Integer.MAX_VALUE, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
        if (!dir.equals(root)) {
          items.add(item(dir, key(root, dir)));
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
        Item i = item(file, key(root, file));
        if (i == null) {
          skipped[0]++;
        } else {
          items.add(i);
        }
        return FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFileFailed(Path file, IOException e) {
        throw new CommandException("ingest: cannot read " + file + ": " + e.getMessage(), e);
      }
    });
  }

  /** The key of {@code p} in the tree at {@code root}: its relative path with '/' between names. */
  private static String key(Path root, Path p) {
    List<String> names = new ArrayList<>();
    for (Path n : root.relativize(p)) {
      names.add(n.toString());
    }
    return String.join("/", names);
  }

  /** What to store for {@code p} (not following a link), or null for a type that is skipped. */
  private static Item item(Path p, String key) throws IOException {
    BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    int mode = mode(p);
    if (a.isSymbolicLink()) {
      String target = Files.readSymbolicLink(p).toString();
      return new Item(key, p, TreeEntry.Kind.LINK, mode, target.getBytes(java.nio.charset.StandardCharsets.UTF_8).length,
          target);
    }
    if (a.isDirectory()) {
      return new Item(key, p, TreeEntry.Kind.DIRECTORY, mode, 0, null);
    }
    if (a.isRegularFile()) {
      return new Item(key, p, TreeEntry.Kind.FILE, mode, a.size(), null);
    }
    return null;
  }

  static int mode(Path p) throws IOException {
    if (!p.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      return 0644;
    }
    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS);
    int mode = 0;
    for (PosixFilePermission perm : perms) {
      mode |= TreeEntry.bit(perm);
    }
    return mode;
  }

  /**
   * The entries of one path, read as the stream asks for them: a large file's chunks (of exactly
   * {@link TreeEntry#CHUNK} bytes but the last), then its head, which is written last so that a head
   * is only there once its chunks are.
   */
  private final class ItemEntries implements java.util.Iterator<Map.Entry<String, byte[]>> {
    private final Item item;
    private final AtomicLong bytes;
    private final Runnable onDone;
    private InputStream in;
    private long read;
    private int index;
    private boolean chunked;
    private boolean finished;
    private Map.Entry<String, byte[]> next;

    ItemEntries(Item item, AtomicLong bytes, Runnable onDone) {
      this.item = item;
      this.bytes = bytes;
      this.onDone = onDone;
      this.chunked = item.kind() == TreeEntry.Kind.FILE && (item.size() < 0 || item.size() > TreeEntry.CHUNK);
    }

    @Override
    public boolean hasNext() {
      if (next == null && !finished) {
        next = advance();
      }
      return next != null;
    }

    @Override
    public Map.Entry<String, byte[]> next() {
      if (!hasNext()) {
        throw new java.util.NoSuchElementException();
      }
      Map.Entry<String, byte[]> e = next;
      next = null;
      return e;
    }

    private Map.Entry<String, byte[]> advance() {
      try {
        if (chunked) {
          if (in == null) {
            in = open(item);
          }
          byte[] chunk = in.readNBytes(TreeEntry.CHUNK);
          if (chunk.length > 0) {
            read += chunk.length;
            bytes.addAndGet(chunk.length);
            return new AbstractMap.SimpleImmutableEntry<>(TreeEntry.chunkKey(item.key(), index++), chunk);
          }
          in.close();
          chunked = false;
          finished = true;
          onDone.run();
          long size = read;
          return new AbstractMap.SimpleImmutableEntry<>(item.key(), new TreeEntry(TreeEntry.Kind.CHUNKED, item.mode(),
              size, index, new byte[0]).encode());
        }
        finished = true;
        onDone.run();
        return head(item, bytes);
      } catch (IOException e) {
        throw new UncheckedIOException("ingest: reading " + (item.file() == null ? "standard input" : item.file())
            + " failed: " + e.getMessage(), e);
      }
    }
  }

  private InputStream open(Item item) throws IOException {
    return item.file() == null ? stdin.get() : Files.newInputStream(item.file(), LinkOption.NOFOLLOW_LINKS);
  }

  /** The head entry of {@code item}: the whole file when it is small, else its size and chunk count. */
  private Map.Entry<String, byte[]> head(Item item, AtomicLong bytes) {
    TreeEntry e;
    try {
      e = switch (item.kind()) {
        case LINK -> {
          byte[] target = item.linkTarget().getBytes(java.nio.charset.StandardCharsets.UTF_8);
          yield new TreeEntry(TreeEntry.Kind.LINK, item.mode(), target.length, 0, target);
        }
        case DIRECTORY -> new TreeEntry(TreeEntry.Kind.DIRECTORY, item.mode(), 0, 0, new byte[0]);
        default -> fileHead(item, bytes);
      };
    } catch (IOException ex) {
      throw new UncheckedIOException("ingest: reading " + (item.file() == null ? "standard input" : item.file())
          + " failed: " + ex.getMessage(), ex);
    }
    return new AbstractMap.SimpleImmutableEntry<>(item.key(), e.encode());
  }

  private TreeEntry fileHead(Item item, AtomicLong bytes) throws IOException {
    if (item.size() >= 0 && item.size() <= TreeEntry.CHUNK) {
      byte[] content;
      try (InputStream in = open(item)) {
        content = in.readNBytes(TreeEntry.CHUNK + 1);
      }
      if (content.length > TreeEntry.CHUNK) {
        throw new CommandException("ingest: " + item.file() + " grew while it was read; ingest it again");
      }
      bytes.addAndGet(content.length);
      return new TreeEntry(TreeEntry.Kind.FILE, item.mode(), content.length, 0, content);
    }
    throw new IllegalStateException("a file over " + TreeEntry.CHUNK + " bytes is stored in chunks");
  }

  /** A progress line on standard error: a bar on a terminal, a line every few seconds otherwise. */
  private static final class Progress {
    private final PrintStream err;
    private final boolean terminal;
    private final int items;
    private final long total;
    private final AtomicLong bytes;
    private final AtomicLong done;
    private final long start = System.nanoTime();
    private volatile long last = System.nanoTime();

    Progress(PrintStream err, boolean terminal, int items, long total, AtomicLong bytes, AtomicLong done) {
      this.err = err;
      this.terminal = terminal;
      this.items = items;
      this.total = total;
      this.bytes = bytes;
      this.done = done;
    }

    void maybePrint() {
      long now = System.nanoTime();
      if (now - last < (terminal ? 200_000_000L : 5_000_000_000L)) {
        return;
      }
      last = now;
      print(false);
    }

    void finish() {
      if (terminal) {
        print(true);
      }
    }

    private void print(boolean end) {
      double fraction = total <= 0 ? 1 : Math.min(1, bytes.get() / (double) total);
      int width = 30;
      int filled = (int) Math.round(fraction * width);
      double seconds = Math.max(1e-9, (System.nanoTime() - start) / 1e9);
      String line = String.format(Locale.ROOT, "[%s%s] %3.0f%% %d/%d paths %s of %s, %.0f MiB/s", "#".repeat(filled),
          " ".repeat(width - filled), fraction * 100, done.get(), items, Sizes.format(bytes.get()), Sizes.format(total),
          bytes.get() / (double) (1 << 20) / seconds);
      if (terminal) {
        err.print("\r" + line + (end ? "\n" : ""));
      } else {
        err.println("ingest: " + line);
      }
      err.flush();
    }
  }
}
