package dev.spillway.core.memory;

/** An intrusive doubly linked list of slabs; a slab is on at most one list. Guarded by the pool's lock. */
final class SlabList {
  final int id;
  private Slab head;
  private int size;

  SlabList(int id) {
    this.id = id;
  }

  Slab first() {
    return head;
  }

  int size() {
    return size;
  }

  void add(Slab slab) {
    slab.list = id;
    slab.prev = null;
    slab.next = head;
    if (head != null) {
      head.prev = slab;
    }
    head = slab;
    size++;
  }

  void remove(Slab slab) {
    if (slab.prev != null) {
      slab.prev.next = slab.next;
    } else {
      head = slab.next;
    }
    if (slab.next != null) {
      slab.next.prev = slab.prev;
    }
    slab.prev = null;
    slab.next = null;
    slab.list = -1;
    size--;
  }
}
