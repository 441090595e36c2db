// The core is type-checked without Node's types (tsconfig.core.json), so it cannot reach the
// filesystem or the network. It needs exactly one platform global, the WHATWG TextDecoder that
// Node and browsers both provide; this declaration is used only by that check.
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
