// chat.postMessage and chat.update for every part of the bot, through the one app-wide budget (budget.ts):
// each call waits for its turn, and a 429 holds back every caller of that method for as long as Slack asks,
// after which the call is tried again (a few times). Calls go through a client that rejects rate-limited calls
// rather than sleeping inside the library, so the budget learns of every 429.
import { webApi } from '@slack/bolt';
import type { BudgetedMethod, SlackBudget } from './budget.ts';
import { RateLimitedError } from './message-updater.ts';

type PostArgs = webApi.ChatPostMessageArguments;
type UpdateArgs = webApi.ChatUpdateArguments;

export interface BudgetedChat {
  postMessage(args: PostArgs, urgent?: boolean): Promise<webApi.ChatPostMessageResponse>;
  update(args: UpdateArgs, urgent?: boolean): Promise<webApi.ChatUpdateResponse>;
}

/** How many 429s in a row one call waits out before it fails. */
const RATE_LIMIT_RETRIES = 5;

export function budgetedChat(client: Pick<webApi.WebClient, 'chat'>, budget: SlackBudget): BudgetedChat {
  async function call<T>(
    method: BudgetedMethod,
    channel: string,
    urgent: boolean,
    send: () => Promise<T>,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const release = await budget.turn(method, channel, () => urgent);
      try {
        return await rateLimitedCall(method, send, budget, channel);
      } catch (error) {
        if (!(error instanceof RateLimitedError) || attempt >= RATE_LIMIT_RETRIES) throw error;
      } finally {
        release();
      }
    }
  }
  return {
    postMessage: (args, urgent = false) =>
      call('chat.postMessage', args.channel, urgent, () => client.chat.postMessage(args)),
    update: (args, urgent = false) =>
      call('chat.update', args.channel, urgent, () => client.chat.update(args)),
  };
}

/** Runs a Web API call; a 429 becomes a RateLimitedError, and the budget (when given) holds everyone back. */
export async function rateLimitedCall<T>(
  method: BudgetedMethod,
  call: () => Promise<T>,
  budget?: SlackBudget,
  channel = '',
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    const retryAfter = retryAfterOf(error);
    if (retryAfter === undefined) throw error;
    budget?.rateLimited(method, channel, retryAfter * 1000);
    throw new RateLimitedError(retryAfter * 1000, method);
  }
}

function retryAfterOf(error: unknown): number | undefined {
  if (error instanceof webApi.WebAPIRateLimitedError) return error.retryAfter;
  if (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === webApi.ErrorCode.RateLimitedError &&
    typeof (error as { retryAfter?: unknown }).retryAfter === 'number'
  ) {
    return (error as { retryAfter: number }).retryAfter;
  }
  return undefined;
}
