'use strict';
// A queue read with `for await`: push() items, end() or fail(error) once. `onAbandon` runs when
// the reader stops before the end (break, return, throw in the loop body).
class AsyncQueue {
  constructor(onAbandon = () => {}) {
    this.onAbandon = onAbandon;
    this.items = [];
    this.waiters = [];
    this.finished = false;
    this.error = null;
  }
  push(item) { this.items.push(item); this.wake(); }
  end() { this.finished = true; this.wake(); }
  fail(error) { this.error = error; this.finished = true; this.wake(); }
  wake() { for (const w of this.waiters.splice(0)) w(); }
  // Resolves once there is an item or the queue ended: { error } when it failed before any item.
  async peek() {
    while (!this.items.length && !this.finished) await new Promise((r) => this.waiters.push(r));
    return this.items.length ? { item: this.items[0] } : { error: this.error };
  }
  async *[Symbol.asyncIterator]() {
    let drained = false;
    try {
      for (;;) {
        if (this.items.length) { yield this.items.shift(); continue; }
        drained = this.finished;
        if (this.error) throw this.error;
        if (this.finished) return;
        await new Promise((r) => this.waiters.push(r));
      }
    } finally {
      if (!drained) this.onAbandon();
    }
  }
}
module.exports = { AsyncQueue };
