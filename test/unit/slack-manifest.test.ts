// manifest.yml is what the Slack app is created from: it must be a manifest Slack takes (checked against the
// Web API package's own Manifest type through a schema typed against it), and it must advertise exactly the
// verbs the bot has, the event and the scopes the code relies on.
import { readFileSync } from 'node:fs';
import type { webApi } from '@slack/bolt';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { SLASH_COMMAND } from '../../src/slack/commands.ts';
import { verbs } from '../../src/verbs/registry.ts';

type Manifest = webApi.AppsManifestCreateArguments['manifest'];

const botScope = z.enum([
  'commands',
  'chat:write',
  'chat:write.public',
  'app_mentions:read',
  'usergroups:read',
  'files:write',
]);

/** Only what the bot's manifest uses, strictly: a misspelt key fails here rather than in Slack's form. */
const manifestSchema: z.ZodType<Manifest> = z.strictObject({
  _metadata: z
    .strictObject({ major_version: z.number().int(), minor_version: z.number().int().optional() })
    .optional(),
  display_information: z.strictObject({
    name: z.string().min(1).max(35),
    description: z.string().max(140).optional(),
    background_color: z
      .string()
      .regex(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/)
      .optional(),
  }),
  features: z.strictObject({
    bot_user: z.strictObject({
      display_name: z
        .string()
        .max(80)
        .regex(/^[a-z0-9._-]+$/),
      always_online: z.boolean().optional(),
    }),
    app_home: z
      .strictObject({
        home_tab_enabled: z.boolean().optional(),
        messages_tab_enabled: z.boolean().optional(),
        messages_tab_read_only_enabled: z.boolean().optional(),
      })
      .optional(),
    slash_commands: z.array(
      z.strictObject({
        command: z.string().regex(/^\/[a-z0-9_-]+$/),
        description: z.string().min(1).max(2000),
        usage_hint: z.string().max(1000).optional(),
        should_escape: z.boolean().optional(),
        url: z.string().url().optional(),
      }),
    ),
  }),
  oauth_config: z.strictObject({ scopes: z.strictObject({ bot: z.array(botScope) }) }),
  settings: z.strictObject({
    event_subscriptions: z.strictObject({
      bot_events: z.array(z.enum(['app_mention', 'app_home_opened'])),
      request_url: z.string().url().optional(),
    }),
    interactivity: z.strictObject({ is_enabled: z.boolean(), request_url: z.string().url().optional() }),
    org_deploy_enabled: z.boolean().optional(),
    socket_mode_enabled: z.boolean(),
    token_rotation_enabled: z.boolean().optional(),
  }),
});

const manifest = manifestSchema.parse(
  parse(readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8')),
);

describe('manifest.yml', () => {
  it('declares the bot user and the one slash command the code registers', () => {
    expect(manifest.features?.bot_user?.display_name).toBe('signage');
    expect(manifest.features?.slash_commands?.map((c) => c.command)).toEqual([SLASH_COMMAND]);
  });

  it('lists exactly the verbs the bot has, in its help order', () => {
    const hint = manifest.features?.slash_commands?.[0]?.usage_hint ?? '';
    const advertised = hint.split(' ')[0]?.split('|');
    expect(advertised).toEqual(verbs.map((v) => v.name));
  });

  it('subscribes to mentions and Home tab openings, turns on the buttons and Socket Mode, and asks for the scopes the code uses', () => {
    expect(manifest.settings?.event_subscriptions?.bot_events).toEqual(['app_mention', 'app_home_opened']);
    expect(manifest.settings?.interactivity?.is_enabled).toBe(true);
    expect(manifest.settings?.socket_mode_enabled).toBe(true);
    // files:write is the only scope screenshots add (the upload flow and sharing in channels the bot is in).
    expect([...(manifest.oauth_config?.scopes?.bot ?? [])].sort()).toEqual(
      [
        'app_mentions:read',
        'chat:write',
        'chat:write.public',
        'commands',
        'files:write',
        'usergroups:read',
      ].sort(),
    );
  });

  it("has the Home tab with the fleet, and the Messages tab the approvers' direct messages arrive in, read-only", () => {
    expect(manifest.features?.app_home).toEqual({
      home_tab_enabled: true,
      messages_tab_enabled: true,
      messages_tab_read_only_enabled: true,
    });
  });

  it('asks for the scope of each Web API method the Slack code calls beyond chat and commands', () => {
    const scopes = new Set(manifest.oauth_config?.scopes?.bot ?? []);
    const used = (file: string) => readFileSync(new URL(`../../src/slack/${file}`, import.meta.url), 'utf8');
    expect(used('files/upload.ts')).toContain('files.completeUploadExternal');
    expect(scopes.has('files:write')).toBe(true);
    // views.publish needs no scope, only the Home tab turned on.
    expect(used('home/fleet-home.ts')).toContain('views.publish');
  });

  it('is refused by the schema when a key is misspelt', () => {
    const broken = structuredClone(manifest) as Record<string, unknown>;
    (broken.settings as Record<string, unknown>).socket_mode = true;
    expect(manifestSchema.safeParse(broken).success).toBe(false);
  });
});
