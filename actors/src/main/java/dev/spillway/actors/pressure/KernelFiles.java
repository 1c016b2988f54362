package dev.spillway.actors.pressure;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * Reads the small text files of {@code /proc} and {@code /sys} without trusting them. A file is read
 * up to a cap (kernel files report a size of 0, so the size cannot be asked first, and a file that is
 * not what we expect must not be read whole), must decode as UTF-8, and numbers must be plain ASCII
 * decimals that fit a {@code long}. Every failure is a {@link SourceException} whose message names the
 * file and the offending content.
 */
final class KernelFiles {
  /** Longest excerpt of bad content quoted in a reason, so garbage cannot flood a log line. */
  private static final int QUOTE_LIMIT = 40;

  private KernelFiles() {}

  /** The content of {@code file}, at most {@code maxBytes} of UTF-8. */
  static String read(Path file, int maxBytes) throws SourceException {
    byte[] bytes;
    try (InputStream in = Files.newInputStream(file)) {
      bytes = in.readNBytes(maxBytes + 1);
    } catch (NoSuchFileException e) {
      throw new SourceException("no " + file);
    } catch (AccessDeniedException e) {
      throw new SourceException("cannot read " + file + ": permission denied");
    } catch (IOException | SecurityException e) {
      throw new SourceException("cannot read " + file + ": " + e.getMessage());
    }
    if (bytes.length > maxBytes) {
      throw new SourceException(file + " is larger than " + maxBytes + " bytes, which no kernel file of its kind is");
    }
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(bytes))
          .toString();
    } catch (CharacterCodingException e) {
      throw new SourceException(file + " is not text (invalid UTF-8)");
    }
  }

  /** The one value of a single-value file such as {@code memory.max}: one line, one trailing newline. */
  static String singleValue(String content, Path file) throws SourceException {
    String value = content.endsWith("\n") ? content.substring(0, content.length() - 1) : content;
    if (value.isEmpty() || value.indexOf('\n') >= 0) {
      throw new SourceException(file + " should hold one value on one line, holds " + quote(content));
    }
    return value;
  }

  /** {@code text} as a non-negative byte count; {@code what} names it in the reason. */
  static long byteCount(String text, String what) throws SourceException {
    // Only ASCII digits: Long.parseLong would also take a sign, and digits of other scripts.
    if (text.isEmpty() || text.length() > 19 || !asciiDigits(text)) {
      throw new SourceException(what + " is not a byte count: " + quote(text));
    }
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      throw new SourceException(what + " is beyond " + Long.MAX_VALUE + ": " + quote(text));
    }
  }

  /** {@code text} quoted for a reason: cut to a few dozen characters, control characters escaped. */
  static String quote(String text) {
    StringBuilder out = new StringBuilder("'");
    int shown = Math.min(text.length(), QUOTE_LIMIT);
    for (int i = 0; i < shown; i++) {
      char c = text.charAt(i);
      if (c == '\n') {
        out.append("\\n");
      } else if (Character.isISOControl(c)) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    out.append('\'');
    if (shown < text.length()) {
      out.append("... (").append(text.length()).append(" chars)");
    }
    return out.toString();
  }

  private static boolean asciiDigits(String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  /**
   * {@code path}, a '/'-separated path a kernel file named, as a directory under {@code base}; a path
   * with a "." or ".." segment is refused ({@code what} and {@code file} name it in the message): ".."
   * appears when a cgroup lies outside this process's cgroup namespace, which is not under our mount.
   */
  static Path under(Path base, String path, String what, Path file) throws SourceException {
    Path dir = base;
    for (String segment : path.split("/", -1)) {
      if (segment.isEmpty()) {
        continue;
      }
      if (segment.equals(".") || segment.equals("..")) {
        throw new SourceException(what + " in " + file + " leaves the visible hierarchy: " + quote(path));
      }
      dir = dir.resolve(segment);
    }
    if (!dir.normalize().startsWith(base.normalize())) {
      throw new SourceException(what + " in " + file + " leaves " + base + ": " + quote(path));
    }
    return dir;
  }
}
