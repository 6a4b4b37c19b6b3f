export { blockProblems, messageProblems, SLACK_LIMITS } from './block-limits.ts';
export {
  appOptionsFor,
  type CapturedLog,
  captureLog,
  type Harness,
  type HarnessOptions,
  secret,
  startHarness,
} from './bot-harness.ts';
export type { FakeChannel } from './channels.ts';
export {
  type ApiFailure,
  type ClickResult,
  FAKE_TOKENS,
  FakeSlack,
  type FakeSlackOptions,
  type SlashCommandResult,
} from './fake-slack.ts';
export type { FakeFile } from './files.ts';
export { type RateRule, SLACK_RATE_RULES } from './rate-limits.ts';
export type { AckRecord, ApiCall, EphemeralRecord, ResponseRecord, StoredMessage } from './records.ts';
export { postSignedEvent, slackSignature } from './signed-request.ts';
export type { PublishedView } from './views.ts';
export type { FakeUser } from './web-api.ts';
