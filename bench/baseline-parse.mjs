// The baseline of the whole-process benchmark: @huggingface/hub's parseSafetensorsMetadata alone,
// in its own process, against the same mock Hub (argv: endpoint, repo).
import { parseSafetensorsMetadata } from "@huggingface/hub";

const [endpoint, repo] = process.argv.slice(2);
const result = await parseSafetensorsMetadata({ repo, hubUrl: endpoint, computeParametersCount: true });
process.stdout.write(`${Object.keys(result.headers ?? {}).length} shards\n`);
