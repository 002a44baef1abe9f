/** What "ready" means beyond "the process is up": credentials, engine, image, channels. */
export {
  type CredentialCheck,
  type CredentialKind,
  credentialKindOf,
  credentialShapeProblem,
  verifyCredentials,
} from "./credentials.ts";
export { type ComponentCheck, checkEngine, checkImage, engineInstallHint } from "./engine.ts";
export {
  channelComponent,
  createReadiness,
  type Readiness,
  type ReadinessComponent,
  type ReadinessReport,
} from "./readiness.ts";
