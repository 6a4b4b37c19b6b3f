#!/usr/bin/env node
// `npm start`: the Slack bot. `node src/main/bot.ts [--config FILE]`; the configuration defaults to
// $SIGNAGE_CONFIG, then ./signage.yml. Logs go to stderr, one line per event ($SIGNAGE_LOG_LEVEL: debug, info,
// warn, error). Exit status: 0 stopped by a signal, 1 could not start, 2 bad configuration or credentials.
import { parseArgs } from 'node:util';
import { guardedWrite } from '../cli/stop-requests.ts';
import { isLogLevel, lineLogger } from './log.ts';
import { type RunningBot, StartupError, startBot } from './start-bot.ts';

const USAGE = 'usage: node src/main/bot.ts [--config FILE]   (default: $SIGNAGE_CONFIG, else ./signage.yml)';

async function main(): Promise<number> {
  const levelName = process.env.SIGNAGE_LOG_LEVEL ?? 'info';
  // A log pipe that closes must not take the bot down in the middle of a deploy.
  const log = lineLogger(guardedWrite(process.stderr), isLogLevel(levelName) ? levelName : 'info');
  if (!isLogLevel(levelName))
    log.warn(`SIGNAGE_LOG_LEVEL=${levelName} is not debug, info, warn or error; using info`);

  let configFile: string;
  try {
    const { values } = parseArgs({
      args: process.argv.slice(2),
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    configFile = values.config ?? process.env.SIGNAGE_CONFIG ?? 'signage.yml';
  } catch (error) {
    log.error(`${error instanceof Error ? error.message.split('. ')[0] : String(error)}; ${USAGE}`);
    return 2;
  }

  // A stray rejection (a Slack blip in a library) is logged; it must not take the screens' bot down.
  process.on('unhandledRejection', (reason) => log.error('unhandled rejection:', reason));

  log.info(`starting with ${configFile}`);
  let bot: RunningBot;
  try {
    bot = await startBot({ configFile, env: process.env, log });
  } catch (error) {
    if (error instanceof StartupError) {
      for (const line of error.message.split('\n')) log.error(line);
      return 2;
    }
    log.error('could not start:', error instanceof Error ? error.message : String(error));
    return 1;
  }
  log.info('ready');

  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        log.warn(`${signal} again: stopping without waiting for requests in flight`);
        process.exit(130);
      }
      stopping = true;
      // Runs in flight stop at their next safe point (a host's switch finishes first) and say so in Slack.
      log.info(`${signal}: stopping (Slack first, then the schedule, then the engine)`);
      bot.stop().then(
        () => {
          log.info('stopped');
          resolve(0);
        },
        (error: unknown) => {
          log.error('stopping failed:', error);
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
  });
}

process.exitCode = await main();
