'use strict';
// Every failure of the package is a rejected promise with a Gemma4Error: `code` is the engine's
// error kind ("bad_request", "model_error", "context_overflow", ...) or "engine_closed".
class Gemma4Error extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'Gemma4Error';
    this.code = code;
  }
}
module.exports = { Gemma4Error };
