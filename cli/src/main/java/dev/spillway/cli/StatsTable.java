package dev.spillway.cli;

import dev.spillway.config.Sizes;
import dev.spillway.memory.AllocatorStats;
import dev.spillway.memory.PoolStats;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Renders allocator statistics as a fixed-width text table, one row per class, and totals. */
final class StatsTable {
  private static final String[] HEADER = {
    "class", "slabs", "capacity", "in use", "free", "cached", "resident", "requested", "frag %", "meta %"
  };

  private StatsTable() {}

  static String render(AllocatorStats stats) {
    List<String[]> rows = new ArrayList<>();
    rows.add(HEADER);
    for (PoolStats p : stats.pools()) {
      rows.add(row(p));
    }
    if (stats.huge().allocations() > 0) {
      rows.add(row(stats.huge()));
    }
    rows.add(new String[] {
      "total", Integer.toString(stats.slabs()), "", Long.toString(stats.blocksInUse()), "", "",
      Sizes.format(stats.residentBytes()), Sizes.format(stats.requestedBytes()),
      percent(stats.internalFragmentation()),
      percent(stats.residentBytes() == 0 ? 0 : (double) stats.metadataBytes() / stats.residentBytes())
    });
    int[] widths = new int[HEADER.length];
    for (String[] r : rows) {
      for (int i = 0; i < r.length; i++) {
        widths[i] = Math.max(widths[i], r[i].length());
      }
    }
    StringBuilder sb = new StringBuilder();
    for (int k = 0; k < rows.size(); k++) {
      if (k == 1 || k == rows.size() - 1) {
        for (int i = 0; i < widths.length; i++) {
          sb.append(i == 0 ? "" : "  ").append("-".repeat(widths[i]));
        }
        sb.append('\n');
      }
      String[] r = rows.get(k);
      for (int i = 0; i < r.length; i++) {
        String cell = r[i];
        String pad = " ".repeat(widths[i] - cell.length());
        sb.append(i == 0 ? "" : "  ").append(i == 0 ? cell + pad : pad + cell);
      }
      sb.append('\n');
    }
    sb.append(String.format(Locale.ROOT, "metadata %s (slab table %s, thread caches %s), %d thread caches",
        Sizes.format(stats.metadataBytes()), Sizes.format(stats.directoryBytes()),
        Sizes.format(stats.threadCacheBytes()), stats.threadCaches()));
    return sb.toString();
  }

  private static String[] row(PoolStats p) {
    return new String[] {
      p.name(), Integer.toString(p.slabs()), Long.toString(p.capacityBlocks()),
      Long.toString(p.blocksInUse()), Long.toString(p.freeBlocks()), Long.toString(p.cachedBlocks()),
      Sizes.format(p.residentBytes()), Sizes.format(p.requestedBytes()),
      percent(p.internalFragmentation()), percent(p.metadataRatio())
    };
  }

  private static String percent(double fraction) {
    return String.format(Locale.ROOT, "%.2f", 100 * fraction);
  }
}
