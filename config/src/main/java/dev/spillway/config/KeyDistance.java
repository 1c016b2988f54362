package dev.spillway.config;

import java.util.List;
import java.util.Locale;

/**
 * How far a misspelt configuration path is from a real one, as an edit distance over its path
 * segments. The last segments (the key names) must be close: equal, equal but for case and
 * {@code -}/{@code _} (distance 1), or a few character edits apart (one per insertion, deletion,
 * substitution or transposition, at most 1 for names up to 4 characters, 2 up to 8 and 3 beyond).
 * The segments before them may then differ by whole sections: inserting, deleting or replacing a
 * section name costs {@value #SECTION}, a close section name its character edits. So, below {@code
 * spillway}, {@code control.budgte} is 1 from {@code control.budget}, {@code memory.budget} and a bare
 * {@code budget} are 2 from it, and {@code tier.size} is {@link #FAR} from every key, because no key
 * name is close to {@code size}. A path is worth suggesting when it is at most {@value #SUGGEST} away.
 */
final class KeyDistance {
  /** Not close at all. Large, but far from overflowing when a few are added. */
  static final int FAR = 1 << 20;
  /** The largest distance at which a real path is offered as "did you mean". */
  static final int SUGGEST = 4;
  /** Inserting, deleting or replacing one whole section name. */
  private static final int SECTION = 2;

  private KeyDistance() {}

  /** The distance from {@code typed} (as written) to {@code real}; {@link #FAR} when their key names are not close. */
  static int between(List<String> typed, List<String> real) {
    if (typed.isEmpty() || real.isEmpty()) {
      return FAR;
    }
    int leaf = names(typed.getLast(), real.getLast());
    if (leaf >= FAR) {
      return FAR;
    }
    return leaf + sections(typed.subList(0, typed.size() - 1), real.subList(0, real.size() - 1));
  }

  /** Levenshtein distance over section names, a whole name costing {@value #SECTION}. */
  private static int sections(List<String> a, List<String> b) {
    int[] previous = new int[b.size() + 1];
    int[] current = new int[b.size() + 1];
    for (int j = 0; j <= b.size(); j++) {
      previous[j] = j * SECTION;
    }
    for (int i = 1; i <= a.size(); i++) {
      current[0] = i * SECTION;
      for (int j = 1; j <= b.size(); j++) {
        int replace = previous[j - 1] + Math.min(SECTION, names(a.get(i - 1), b.get(j - 1)));
        current[j] = Math.min(replace, Math.min(previous[j], current[j - 1]) + SECTION);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.size()];
  }

  /** 0 when equal, 1 when equal but for case and separators, the character edits when close, else {@link #FAR}. */
  static int names(String a, String b) {
    if (a.equals(b)) {
      return 0;
    }
    if (normalized(a).equals(normalized(b))) {
      return 1;
    }
    int allowed = allowedEdits(Math.max(a.length(), b.length()));
    // Every edit changes the length by at most one: names of very different lengths are not close, and a
    // pathological key of thousands of characters costs nothing to rule out.
    if (Math.abs(a.length() - b.length()) > allowed) {
      return FAR;
    }
    int edits = characterEdits(a.toLowerCase(Locale.ROOT), b.toLowerCase(Locale.ROOT));
    return edits <= allowed ? edits : FAR;
  }

  private static int allowedEdits(int length) {
    return length <= 4 ? 1 : length <= 8 ? 2 : 3;
  }

  private static String normalized(String name) {
    return name.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
  }

  /** Optimal string alignment distance: Levenshtein plus the transposition of two neighbours. */
  static int characterEdits(String a, String b) {
    int[][] d = new int[a.length() + 1][b.length() + 1];
    for (int i = 0; i <= a.length(); i++) {
      d[i][0] = i;
    }
    for (int j = 0; j <= b.length(); j++) {
      d[0][j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        d[i][j] = Math.min(d[i - 1][j - 1] + cost, Math.min(d[i - 1][j], d[i][j - 1]) + 1);
        if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length()][b.length()];
  }
}
