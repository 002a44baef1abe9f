/** The host-side credential proxy agents reach through a mounted unix socket. */
export {
  type CredentialProxy,
  type CredentialProxyOptions,
  createCredentialProxy,
  ProxyStartError,
  type UsageSink,
} from "./proxy.ts";
export { type TokenUsage, usageTap } from "./usage.ts";
export {
  AUTH_FAILURE_PREFIXES,
  type AuthFailure,
  authFailureSentence,
  findAuthFailureSentence,
  isAuthFailureSentence,
  NO_CREDENTIALS_SENTENCE,
  type OnAuthFailure,
  scrubDetail,
  upstreamDetail,
} from "./auth-failure.ts";
