package dev.spillway.map.policy;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.IntPredicate;

/**
 * W-TinyLFU (Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache Admission Policy", ACM
 * ToS 2017), as Caffeine implements it: an admission window in front of a main space guarded by a
 * frequency filter.
 *
 * <ul>
 *   <li><b>Window</b>: an LRU list every inserted entry joins; its share of the maximum starts at 1%
 *       ({@code maximum - (long) (0.99 * maximum)}, in weight). After every insert, access or update
 *       the window's least recently used entries move to the end of probation while the window
 *       weighs more than its share: they are this round's <i>candidates</i>.
 *   <li><b>Main</b>: a segmented LRU. An entry read in <i>probation</i> moves to <i>protected</i>
 *       (unless it weighs more than protected's share: then it goes to probation's end), whose share
 *       is 80% of main ({@code (long) (0.8 * (maximum - window))}); protected's least recently used
 *       entries fall back to probation's end while it is over its share. Probation has no share: it
 *       holds the rest.
 *   <li><b>Admission</b> ({@link #victim()}): the first candidate is compared with probation's first
 *       (least recently used) entry by their frequency ({@link FrequencySketch}: a count-min sketch
 *       of 4-bit counters behind a doorkeeper, aged every 10 × maximum counter increments): the one
 *       with the lower frequency is the victim; a tie gives up the candidate. A candidate that wins stays
 *       where it is, and the next candidate (the next entry towards probation's end) meets the next
 *       victim. When this round's candidates run out, the window's entries are candidates, oldest
 *       first; when probation runs out, protected's then the window's oldest entries are the victims,
 *       given up without comparison; a candidate heavier than the maximum is given up at once, as is
 *       the only entry left to compare. This is Caffeine's {@code evictFromMain}, one eviction per
 *       call; the caller's {@link #onRemove} of the victim advances it. {@link #victim()} is
 *       idempotent: it returns the same row until something changes.
 *   <li><b>Hash flooding</b>: a warm candidate (frequency 6 or more) that does not win is still
 *       admitted with probability 1/128, as in Caffeine: an attacker who raises a victim's frequency
 *       through colliding keys cannot keep every new entry out. The coin is a xorshift generator
 *       seeded at construction ({@link #WTinyLfuPolicy(long)} for a reproducible sequence).
 *   <li><b>Hill climbing</b>: the window's share adapts as in Caffeine 3.2 ({@link WindowClimber}):
 *       hits ({@link #onAccess}, {@link #onUpdate}) and misses ({@link #onInsert}) are sampled, 10 ×
 *       maximum requests at a time, and after each sample the window grows or shrinks by a decaying
 *       step, on in the same direction while the hit rate does not fall. A larger window takes its
 *       weight from protected's share (moving main's oldest entries into the window, up to its new
 *       share); a smaller one gives it to protected's share (moving the window's oldest entries to
 *       probation). Measured at 65,536 entries over 20 M accesses: on Zipf(0.99) the window ends at
 *       3.5%; on a recency-biased trace (a new key every 4th access, else one of the 40,000
 *       newest), where a fixed 1% window gave 14% hits against LRU's 75%, it grows to 80% (58%).
 * </ul>
 *
 * <p>Weights count everywhere a share does (window, protected, maximum); the comparison is one
 * entry against one. The sketch is sized for {@code min(maximum, rows)} entries (no more entries
 * than rows can be tracked, and the maximum is in weight): {@link #setMaximum} and {@link
 * #ensureRows} grow it, keeping its counts, aged. Per row: two links, the weight, a 32-bit sketch
 * key and a byte of state (about 21 bytes); per expected entry, 8 bytes of counters (as Caffeine's)
 * and 2 of doorkeeper. Every call is O(1) amortized: aging is O(sketch) once per sample, and a
 * hill-climbing step moves up to a step's weight of entries once per sample.
 */
public final class WTinyLfuPolicy extends AbstractPolicy {
  static final int WINDOW = 0;
  static final int PROBATION = 1;
  static final int PROTECTED = 2;
  private static final int NONE = RowDeques.NONE;
  private static final byte QUEUE_BITS = 3;
  /** Set on the rows forEachColdest has given up in its dry run; clear otherwise. */
  private static final byte VISITED = 4;

  static final double MAIN_SHARE = 0.99;
  static final double PROTECTED_SHARE = 0.80;
  static final int WARM_CANDIDATE = 6;

  // The roles of a decided victim, which say how the round goes on once it is removed.
  private static final int PLAIN = 0;
  private static final int BEAT_BY_CANDIDATE = 1;
  private static final int LOST_CANDIDATE = 2;
  private static final int CANDIDATE_WAS_VICTIM = 3;

  private final RowDeques deques = new RowDeques(3);
  private byte[] state = new byte[0];
  private int[] keys = new int[0];
  private final FrequencySketch sketch = new FrequencySketch(FrequencySketch.MIN_ENTRIES);
  private final WindowClimber climber = new WindowClimber();

  private long windowMaximum;
  private long protectedMaximum;
  private long windowWeight;
  private long protectedWeight;

  // The admission round (Caffeine's evictFromMain loop, spread over victim/onRemove calls).
  private int candidate = NONE;
  /** Whether the round has gone on to the window's own entries as candidates. */
  private boolean windowCandidates;
  private boolean decided;
  private int decision = NONE;
  private int decisionRole;
  private long random;

  // forEachColdest's dry run.
  private boolean dryRun;
  private final int[] dryFirst = new int[3];
  private final int[] visitedIn = new int[3];

  /** A policy whose hash-flooding coin is seeded at random; call {@link #ensureRows} first. */
  public WTinyLfuPolicy() {
    this(new SplittableRandom().nextLong());
  }

  /** A policy whose hash-flooding coin starts from {@code seed} (reproducible runs). */
  public WTinyLfuPolicy(long seed) {
    this.random = seed == 0 ? 0x9E37_79B9_7F4A_7C15L : seed; // xorshift must not start at 0
    maximumChanged();
  }

  @Override
  public String name() {
    return "w-tinylfu";
  }

  long windowMaximum() {
    return windowMaximum;
  }

  long protectedMaximum() {
    return protectedMaximum;
  }

  long windowWeight() {
    return windowWeight;
  }

  long protectedWeight() {
    return protectedWeight;
  }

  FrequencySketch sketch() {
    return sketch;
  }

  /** Which of {@link #WINDOW}, {@link #PROBATION}, {@link #PROTECTED} holds tracked {@code row}. */
  int queueOf(int row) {
    return state[row] & QUEUE_BITS;
  }

  // ---- hooks -----------------------------------------------------------------------------------

  @Override
  void grow(int capacity) {
    deques.grow(capacity);
    state = Arrays.copyOf(state, capacity);
    keys = Arrays.copyOf(keys, capacity);
    sketch.ensureCapacity(Math.min(maximum(), capacity));
  }

  @Override
  void maximumChanged() {
    long max = maximum();
    windowMaximum = max - (long) (MAIN_SHARE * max);
    protectedMaximum = (long) (PROTECTED_SHARE * (max - windowMaximum));
    sketch.ensureCapacity(Math.min(max, rowCapacity()));
    climber.reset(max);
    maintain();
  }

  @Override
  void inserted(int row, long hash, long weight) {
    int key = FrequencySketch.keyOf(hash);
    keys[row] = key;
    sketch.increment(key);
    state[row] = WINDOW;
    deques.addLast(WINDOW, row);
    windowWeight += weight;
    climber.recordMiss(weightedSize(), maximum());
    maintain();
  }

  @Override
  void accessed(int row, long hash) {
    int key = FrequencySketch.keyOf(hash);
    keys[row] = key;
    sketch.increment(key);
    climber.recordHit();
    switch (queueOf(row)) {
      case WINDOW -> deques.moveToLast(WINDOW, row);
      case PROTECTED -> deques.moveToLast(PROTECTED, row);
      default -> {
        long weight = weights[row];
        if (weight > protectedMaximum) {
          deques.moveToLast(PROBATION, row);
        } else {
          move(row, PROBATION, PROTECTED);
        }
      }
    }
    maintain();
  }

  @Override
  void updated(int row, long hash, long oldWeight, long weight) {
    switch (queueOf(row)) {
      case WINDOW -> windowWeight += weight - oldWeight;
      case PROTECTED -> protectedWeight += weight - oldWeight;
      default -> {}
    }
    accessed(row, hash);
  }

  @Override
  void removed(int row) {
    leaveRound(row);
    int queue = queueOf(row);
    deques.remove(queue, row);
    long weight = weights[row];
    if (queue == WINDOW) {
      windowWeight -= weight;
    } else if (queue == PROTECTED) {
      protectedWeight -= weight;
    }
  }

  @Override
  void cleared() {
    deques.clear();
    sketch.clear();
    windowWeight = 0;
    protectedWeight = 0;
    maximumChanged(); // shares, climber and round back to their start
  }

  // ---- maintenance ------------------------------------------------------------------------------

  /**
   * After every change: a new admission round starts, the climber may step, protected's overflow
   * falls back to probation, then the window's overflow moves to probation as the round's
   * candidates (after the demoted entries, so those are not candidates, as in Caffeine, which
   * demotes at the end of its maintenance).
   */
  private void maintain() {
    decided = false;
    candidate = NONE;
    windowCandidates = false;
    long adjustment = climber.adjustment(maximum(), sketch.sampleSize());
    if (adjustment > 0) {
      growWindow(Math.min(adjustment, protectedMaximum));
    } else if (adjustment < 0) {
      shrinkWindow(Math.min(-adjustment, Math.max(0, windowMaximum - 1)));
    }
    demoteProtected();
    while (windowWeight > windowMaximum) {
      int row = deques.first(WINDOW);
      move(row, WINDOW, PROBATION);
      if (candidate == NONE) {
        candidate = row;
      }
    }
  }

  private void demoteProtected() {
    while (protectedWeight > protectedMaximum) {
      move(deques.first(PROTECTED), PROTECTED, PROBATION);
    }
  }

  /** Moves {@code row} from {@code from} to the end of {@code to}, carrying its weight. */
  private void move(int row, int from, int to) {
    long weight = weights[row];
    deques.remove(from, row);
    deques.addLast(to, row);
    state[row] = (byte) to;
    if (from == WINDOW) {
      windowWeight -= weight;
    } else if (from == PROTECTED) {
      protectedWeight -= weight;
    }
    if (to == WINDOW) {
      windowWeight += weight;
    } else if (to == PROTECTED) {
      protectedWeight += weight;
    }
  }

  /** Moves {@code quota} of share from protected to the window, and main's oldest entries with it. */
  private void growWindow(long quota) {
    protectedMaximum -= quota;
    windowMaximum += quota;
    demoteProtected();
    while (true) {
      int row = deques.first(PROBATION);
      int from = PROBATION;
      if (row == NONE || weights[row] > windowMaximum - windowWeight) {
        row = deques.first(PROTECTED);
        from = PROTECTED;
      }
      if (row == NONE || weights[row] > windowMaximum - windowWeight) {
        return;
      }
      move(row, from, WINDOW);
    }
  }

  /** Moves {@code quota} of share from the window to protected, and the window's oldest entries to probation. */
  private void shrinkWindow(long quota) {
    windowMaximum -= quota;
    protectedMaximum += quota;
    while (windowWeight > windowMaximum) {
      move(deques.first(WINDOW), WINDOW, PROBATION);
    }
  }

  // ---- admission -------------------------------------------------------------------------------

  @Override
  public int victim() {
    if (!decided) {
      decide();
      decided = true;
    }
    return decision;
  }

  /** Caffeine's evictFromMain, one step: sets {@link #decision} and {@link #decisionRole}. */
  private void decide() {
    if (candidate == NONE && !windowCandidates) {
      candidate = first(WINDOW);
      windowCandidates = true;
    }
    int victim = first(PROBATION);
    if (victim == NONE && candidate == NONE) {
      victim = first(PROTECTED);
      if (victim == NONE) {
        victim = first(WINDOW);
      }
    }
    if (victim == NONE) {
      decide(candidate, LOST_CANDIDATE); // NONE too when nothing is tracked
    } else if (candidate == NONE) {
      decide(victim, PLAIN);
    } else if (candidate == victim) {
      decide(victim, CANDIDATE_WAS_VICTIM);
    } else if (weights[candidate] > maximum() || !admit(keys[candidate], keys[victim])) {
      decide(candidate, LOST_CANDIDATE);
    } else {
      decide(victim, BEAT_BY_CANDIDATE);
    }
  }

  private void decide(int row, int role) {
    decision = row;
    decisionRole = role;
  }

  /** Whether the candidate of sketch key {@code candidateKey} replaces the victim of {@code victimKey}. */
  private boolean admit(int candidateKey, int victimKey) {
    int candidateFrequency = sketch.frequency(candidateKey);
    if (candidateFrequency > sketch.frequency(victimKey)) {
      return true;
    }
    if (candidateFrequency >= WARM_CANDIDATE) {
      random ^= random << 13;
      random ^= random >>> 7;
      random ^= random << 17;
      return (random & 127) == 0;
    }
    return false;
  }

  /** The round goes on as {@code row} leaves (before it is unlinked). */
  private void leaveRound(int row) {
    if (decided && row == decision) {
      switch (decisionRole) {
        case BEAT_BY_CANDIDATE, LOST_CANDIDATE -> candidate = after(candidate);
        case CANDIDATE_WAS_VICTIM -> candidate = NONE;
        default -> {}
      }
    } else if (row == candidate) {
      candidate = after(candidate);
    }
    decided = false;
  }

  /** The first row of {@code queue}; in the dry run, the first one it has not given up. */
  private int first(int queue) {
    if (!dryRun) {
      return deques.first(queue);
    }
    int row = dryFirst[queue];
    while (row != NONE && (state[row] & VISITED) != 0) {
      row = deques.next(row);
    }
    dryFirst[queue] = row;
    return row;
  }

  /** The row after {@code row} in its queue, skipping those the dry run gave up; NONE after NONE. */
  private int after(int row) {
    if (row == NONE) {
      return NONE;
    }
    int next = deques.next(row);
    while (next != NONE && (state[next] & VISITED) != 0) {
      next = deques.next(next);
    }
    return next;
  }

  /**
   * Visits rows in the order repeated {@link #victim()} and {@link #onRemove} would give them up,
   * with the same frequencies and the same hash-flooding coin: a dry run of the admission round that
   * marks the rows it gives up instead of unlinking them, and restores the round, the coin and the
   * marks afterwards. O(rows visited + candidates passed).
   */
  @Override
  public void forEachColdest(IntPredicate visitor) {
    int savedCandidate = candidate;
    boolean savedWindowCandidates = windowCandidates;
    boolean savedDecided = decided;
    int savedDecision = decision;
    int savedRole = decisionRole;
    long savedRandom = random;
    int firstCandidate = candidate != NONE ? candidate : windowCandidates ? NONE : deques.first(WINDOW);
    for (int q = 0; q < 3; q++) {
      dryFirst[q] = deques.first(q);
      visitedIn[q] = 0;
    }
    dryRun = true;
    try {
      while (true) {
        if (!decided) { // a decision victim() made stands: its coin was drawn already
          decide();
          decided = true;
        }
        int row = decision;
        if (row == NONE) {
          return;
        }
        leaveRound(row);
        state[row] |= VISITED;
        visitedIn[queueOf(row)]++;
        if (!visitor.test(row)) {
          return;
        }
      }
    } finally {
      dryRun = false;
      unmark(firstCandidate);
      candidate = savedCandidate;
      windowCandidates = savedWindowCandidates;
      decided = savedDecided;
      decision = savedDecision;
      decisionRole = savedRole;
      random = savedRandom;
    }
  }

  /**
   * Checks the structure against the counts (tests): every tracked row in exactly the queue its
   * state names, the queues' weights, no dry-run mark left, the shares kept after maintenance.
   *
   * @throws AssertionError naming the first inconsistency
   */
  void checkInvariants() {
    long[] weightIn = new long[3];
    int rows = 0;
    for (int q = 0; q < 3; q++) {
      int before = NONE;
      for (int row = deques.first(q); row != NONE; row = deques.next(row)) {
        check(weights[row] > 0, "row " + row + " in queue " + q + " is not tracked");
        check(state[row] == q, "row " + row + " in queue " + q + " has state " + state[row]);
        check(deques.prev(row) == before, "row " + row + " has a broken back link");
        check(++rows <= size(), "queues hold more rows than the size " + size());
        weightIn[q] += weights[row];
        before = row;
      }
      check(deques.last(q) == before, "queue " + q + " ends at " + deques.last(q) + ", not " + before);
    }
    check(rows == size(), "queues hold " + rows + " rows, size is " + size());
    check(weightIn[WINDOW] == windowWeight, "window weighs " + weightIn[WINDOW] + ", counted " + windowWeight);
    check(weightIn[PROTECTED] == protectedWeight,
        "protected weighs " + weightIn[PROTECTED] + ", counted " + protectedWeight);
    check(weightIn[0] + weightIn[1] + weightIn[2] == weightedSize(), "queues weigh other than weightedSize");
    check(windowWeight <= windowMaximum, "window " + windowWeight + " over its share " + windowMaximum);
    check(protectedWeight <= protectedMaximum, "protected " + protectedWeight + " over " + protectedMaximum);
    check(windowMaximum >= 1 && protectedMaximum >= 0
        && windowMaximum + protectedMaximum <= Math.max(maximum(), 1), "shares out of range");
  }

  private static void check(boolean condition, String message) {
    if (!condition) {
      throw new AssertionError(message);
    }
  }

  /**
   * Clears the dry run's marks: each queue's given-up rows are a run from its first row, plus, in
   * the candidates' queues, rows among the candidates walked from {@code firstCandidate} (the
   * candidates that won in between are not marked, and were passed by the round anyway).
   */
  private void unmark(int firstCandidate) {
    for (int q = 0; q < 3; q++) {
      for (int row = deques.first(q); row != NONE && (state[row] & VISITED) != 0; row = deques.next(row)) {
        state[row] &= ~VISITED;
        visitedIn[q]--;
      }
    }
    for (int row = firstCandidate; row != NONE; ) {
      int q = queueOf(row);
      if (visitedIn[q] == 0 && visitedIn[WINDOW] == 0) {
        break;
      }
      if ((state[row] & VISITED) != 0) {
        state[row] &= ~VISITED;
        visitedIn[q]--;
      }
      int next = deques.next(row);
      // The probation candidates run out into the window's, as the round does.
      row = next != NONE ? next : q == PROBATION ? deques.first(WINDOW) : NONE;
    }
    for (int q = 0; q < 3; q++) {
      if (visitedIn[q] != 0) {
        throw new AssertionError("forEachColdest left " + visitedIn[q] + " marks in queue " + q);
      }
    }
  }
}
