import { EXIT, QauditError } from "../../core/errors.js";

/** A Hub or network failure: one line, exit code 4. Messages never carry the token. */
export class HubError extends QauditError {
  constructor(message: string) {
    super(message, EXIT.hub);
  }
}

/** A file the Hub says is not there (404 EntryNotFound): speculative reads of optional files expect it. */
export class EntryNotFoundError extends HubError {}

export interface HubErrorContext {
  endpoint: string;
  repo: string;
  revision: string;
  file?: string;
  hasToken: boolean;
}

/** Words for a Hub answer, from its status and `X-Error-Code` (GatedRepo, RepoNotFound, …). */
export function describeHubFailure(status: number, errorCode: string | null, ctx: HubErrorContext): string {
  const what = ctx.file === undefined ? ctx.repo : `${ctx.file} in ${ctx.repo}`;
  switch (errorCode) {
    case "GatedRepo":
      return ctx.hasToken
        ? `${ctx.repo} is gated and this token has no access yet: accept its license at ${ctx.endpoint}/${ctx.repo} with the token's account`
        : `${ctx.repo} is gated: accept its license at ${ctx.endpoint}/${ctx.repo}, then pass a token (--token or HF_TOKEN)`;
    case "RepoNotFound":
      return `repository ${ctx.repo} not found on ${ctx.endpoint}${ctx.hasToken ? "" : " (if it is private, pass a token with --token or HF_TOKEN)"}`;
    case "RevisionNotFound":
      return `revision ${JSON.stringify(ctx.revision)} not found in ${ctx.repo}`;
    case "EntryNotFound":
      return `${what} not found at revision ${JSON.stringify(ctx.revision)}`;
    case "DisabledRepo":
      return `${ctx.repo} has been disabled on ${ctx.endpoint}`;
    default:
      break;
  }
  if (status === 401) return ctx.hasToken ? `the Hub refused the token for ${what} (401): is it valid?` : `${what} needs authentication (401): pass a token with --token or HF_TOKEN`;
  if (status === 403) return `access to ${what} is forbidden (403)${ctx.hasToken ? " for this token" : ""}`;
  if (status === 404) return `${what} not found (404)`;
  if (status === 429) return `the Hub is rate limiting requests (429) for ${what}; retry later`;
  if (status >= 500) return `the Hub answered ${status} for ${what}`;
  return `unexpected answer ${status} from the Hub for ${what}`;
}
