// The App Home tab as the fake holds it: the view last published to each user with views.publish, checked as
// Slack checks it (a `home` view, at most 100 valid blocks, at most 250 kB), and refused with `not_enabled`
// when the app's Home tab is off.
import { blockProblems } from './block-limits.ts';
import type { Json } from './records.ts';

export const HOME_BLOCKS = 100;
const VIEW_BYTES = 250_000;

export interface PublishedView {
  readonly user: string;
  readonly blocks: unknown[];
  readonly at: number;
  /** How many times a view was published to this user. */
  readonly count: number;
}

export class FakeViews {
  readonly #views = new Map<string, PublishedView>();
  readonly #enabled: boolean;

  constructor(homeTabEnabled: boolean) {
    this.#enabled = homeTabEnabled;
  }

  home(user: string): PublishedView | undefined {
    return this.#views.get(user);
  }

  publish(
    args: Json,
    violation: (text: string) => void,
  ): { error: string; errors?: string[] } | { id: string } {
    if (!this.#enabled) return { error: 'not_enabled' };
    if (typeof args.user_id !== 'string' || !/^[UW][A-Z0-9]+$/.test(args.user_id)) {
      return { error: 'invalid_arguments' };
    }
    const view = args.view as Json | undefined;
    if (typeof view !== 'object' || view === null || 'unparseable' in view)
      return { error: 'invalid_arguments' };
    if (JSON.stringify(view).length > VIEW_BYTES) {
      violation('views.publish: view_too_large');
      return { error: 'view_too_large' };
    }
    if (view.type !== 'home') return { error: 'invalid_arguments' };
    const blocks = view.blocks;
    if (!Array.isArray(blocks)) return { error: 'invalid_arguments' };
    const problems = blockProblems(blocks, HOME_BLOCKS);
    if (problems.length > 0) {
      violation(`views.publish: invalid_blocks: ${problems.join('; ')}`);
      return { error: 'invalid_blocks', errors: problems };
    }
    const count = (this.#views.get(args.user_id)?.count ?? 0) + 1;
    this.#views.set(args.user_id, { user: args.user_id, blocks, at: performance.now(), count });
    return { id: `V0HOME${args.user_id}` };
  }
}
