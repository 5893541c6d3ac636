'use strict';
// A queue read with `for await`: push() items, end() or fail(error) once.
class AsyncQueue {
  constructor() {
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
    for (;;) {
      if (this.items.length) { yield this.items.shift(); continue; }
      if (this.error) throw this.error;
      if (this.finished) return;
      await new Promise((r) => this.waiters.push(r));
    }
  }
}
module.exports = { AsyncQueue };
