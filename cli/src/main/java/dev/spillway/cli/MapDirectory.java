package dev.spillway.cli;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import dev.spillway.Spillway;
import dev.spillway.config.MapSettings;
import dev.spillway.core.tier.MapSnapshot;
import dev.spillway.map.SpillMap;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A durable map's directory opened by a command: a {@link Spillway} on the user's settings (with
 * {@code --budget} over them) and the map {@value #NAME} of path keys to stored values in it. A
 * snapshot (a directory with a {@code MANIFEST}) is opened read-only: it is never changed.
 */
final class MapDirectory implements AutoCloseable {
  /** The name commands give the map (a map's files do not depend on its name). */
  static final String NAME = "files";

  final Spillway spillway;
  final SpillMap<String, byte[]> map;
  final Path directory;
  final boolean snapshot;

  private MapDirectory(Spillway spillway, SpillMap<String, byte[]> map, Path directory, boolean snapshot) {
    this.spillway = spillway;
    this.map = map;
    this.directory = directory;
    this.snapshot = snapshot;
  }

  /**
   * Opens {@code dir} ({@code create}: made when missing; otherwise it must exist) with {@code budget}
   * (null: the configured one) and {@code codec} (null: the configured one) for new records.
   */
  static MapDirectory open(String dir, boolean create, String budget, String codec) throws CommandException {
    Path path = Path.of(dir).toAbsolutePath().normalize();
    if (!create && !Files.isDirectory(path)) {
      throw new CommandException(path + " is not a directory" + (Files.exists(path) ? "" : " (it does not exist)"));
    }
    boolean snapshot = MapSnapshot.isSnapshot(path);
    Config c = ConfigFactory.empty();
    if (budget != null) {
      c = c.withValue("spillway.control.budget", ConfigValueFactory.fromAnyRef(budget, "--budget"));
    }
    Spillway spillway = Spillway.create(c);
    try {
      MapSettings base = spillway.settings().mapSettings(NAME);
      var persistence = base.persistence().withDirectory(path);
      if (codec != null) {
        persistence = persistence.withCodec(codec);
      }
      if (snapshot) {
        persistence = persistence.asReadOnly();
      }
      MapSettings settings = base.withPersistence(persistence);
      SpillMap<String, byte[]> map = spillway.map(NAME, String.class, byte[].class, b -> b.settings(settings));
      return new MapDirectory(spillway, map, path, snapshot);
    } catch (RuntimeException e) {
      spillway.close();
      throw new CommandException(path + ": " + e.getMessage(), e);
    }
  }

  @Override
  public void close() {
    try {
      map.close();
    } finally {
      spillway.close();
    }
  }
}
