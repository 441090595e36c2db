// Random one-character edits of valid texts: the inputs on which a strict reader must refuse
// exactly what JSON.parse refuses.
import fc from "fast-check";

/** `texts` with one character deleted, inserted or replaced (one of `alphabet`) at a random place. */
export function oneCharacterEdits(texts: fc.Arbitrary<string>, alphabet: string): fc.Arbitrary<string> {
  return fc.tuple(texts, fc.nat(), fc.constantFrom("delete", "insert", "replace"), fc.constantFrom(...alphabet.split(""))).map(([text, at, kind, char]) => {
    const i = at % (text.length + 1);
    if (kind === "delete") return text.slice(0, i) + text.slice(i + 1);
    if (kind === "insert") return text.slice(0, i) + char + text.slice(i);
    return text.slice(0, i) + char + text.slice(i + 1);
  });
}
