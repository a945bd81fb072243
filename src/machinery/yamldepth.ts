// How deeply a YAML text nests, measured before anything recurses on it. The yaml library composes
// documents recursively, one level per collection: past about a thousand levels it overflows the
// stack, and if V8 compiles a regular expression right at that edge the process aborts (the regexp
// compiler treats a stack overflow as fatal) instead of throwing. Its lexer and CST parser keep
// their own stack instead, so they measure the depth safely and stop at the first level too many.
import { Lexer, Parser } from 'yaml';

/** the deepest nesting accepted in YAML a client sends, the same bound as for JSON bodies */
export const MAX_YAML_DEPTH = 100;

const COLLECTIONS = new Set(['block-map', 'block-seq', 'flow-collection']);

/**
 * The deepest nesting of collections in `text` (every document of a stream; a scalar is 0, `[1]`
 * is 1, `a: {b: 1}` is 2). Reading stops as soon as it passes `limit`, which is then answered as
 * `limit + 1`, so the cost of a hostile document ends there.
 */
export function yamlNestingDepth(text: string, limit = MAX_YAML_DEPTH): number {
  const parser = new Parser();
  let deepest = 0;
  const measure = () => {
    // the parser's stack is the path from the document to where it reads: its collections are the
    // depth, and it can only hold more of them than seen so far when it is longer than that
    if (parser.stack.length <= deepest) return;
    let depth = 0;
    for (const token of parser.stack) if (COLLECTIONS.has(token.type)) depth++;
    deepest = Math.max(deepest, depth);
  };
  for (const lexeme of new Lexer().lex(text)) {
    for (const _ of parser.next(lexeme)); // whole documents: nothing to measure in them any more
    measure();
    if (deepest > limit) return limit + 1;
  }
  for (const _ of parser.end());
  return deepest;
}

/** whether `text` nests deeper than `limit` */
export function yamlTooDeep(text: string, limit = MAX_YAML_DEPTH): boolean {
  return yamlNestingDepth(text, limit) > limit;
}
