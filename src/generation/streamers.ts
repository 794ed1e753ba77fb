// Streaming the tokens of generate() as they come, after transformers' generation/streamers.py.
// Text decoding belongs to the tokenizer; these streamers deal in token ids (one per row per put).

import type { BaseStreamer } from './types.js';

/**
 * A streamer that is also an async iterator, like Python's TextIteratorStreamer but yielding
 * token ids: each `put` becomes one item (the tokens of every row). Iterate it while generate()
 * runs; iteration ends when generation ends, and throws if generation throws.
 *
 *   const streamer = new TokenIteratorStreamer({ skip_prompt: true });
 *   const done = generate(session, 1, config, { streamer });
 *   for await (const [token] of streamer) process.stdout.write(tokenizer.decode([Number(token)]));
 *   const { sequences } = await done;
 */
export class TokenIteratorStreamer implements BaseStreamer, AsyncIterable<bigint[]> {
  private readonly queue: bigint[][] = [];
  private finished = false;
  private failure: { reason: unknown } | null = null;
  private wake: (() => void) | null = null;
  private skipNext: boolean;

  /** `skip_prompt`: drop the first put (the decoder start tokens), as Python's skip_prompt. */
  constructor(options: { skip_prompt?: boolean } = {}) {
    this.skipNext = options.skip_prompt === true;
  }

  put(tokens: bigint[]): void {
    if (this.finished) throw new Error('TokenIteratorStreamer: put() after end()');
    if (this.skipNext) {
      this.skipNext = false;
      return;
    }
    this.queue.push([...tokens]);
    this.notify();
  }

  end(): void {
    this.finished = true;
    this.notify();
  }

  error(reason: unknown): void {
    this.failure = { reason };
    this.finished = true;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<bigint[]> {
    for (;;) {
      const item = this.queue.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.failure) throw this.failure.reason;
      if (this.finished) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
