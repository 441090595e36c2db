// The header parser's worker thread (see header-parser.ts): parses each header it is sent and sends
// it back packed, or the message of the error that refused it.
import { parentPort } from "node:worker_threads";
import { QauditError } from "../core/errors.js";
import { parseHeader } from "../core/format/index.js";
import { packHeader, type PackedResult, type ParseRequest } from "./header-parser.js";

const port = parentPort;
if (port === null) throw new Error("header-worker.js runs as a worker thread");
port.on("message", ({ id, json, name, size }: ParseRequest) => {
  let result: PackedResult;
  try {
    result = packHeader(id, parseHeader(json, name, size));
  } catch (error) {
    // Only the header's own refusals come back as such; anything else is a fault of this worker.
    if (!(error instanceof QauditError)) throw error;
    result = { id, error: error.message };
  }
  const transfer = "numbers" in result ? [result.numbers.buffer] : [];
  port.postMessage(result, transfer as ArrayBuffer[]);
});
