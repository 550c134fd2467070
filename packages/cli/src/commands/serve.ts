import { Option, type Command } from 'commander';
import {
  common,
  connection,
  intParser,
  prefixOf,
  settingError,
  type CommonOptions,
} from '../context.ts';
import { json } from '../format.ts';
import { loadRegistry } from '../registry.ts';

type ServeOptions = CommonOptions & {
  port?: number;
  host?: string;
  insecure: boolean;
};

async function serve(opts: ServeOptions): Promise<void> {
  const registry = await loadRegistry(opts.schema);
  // Imported here so the other commands do not load the HTTP stack.
  const { startServer } = await import('@jobwire/server');
  const token = process.env.JOBWIRE_TOKEN;
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      registry,
      connection: connection(),
      prefix: prefixOf(opts),
      token: token === '' ? undefined : token,
      insecure: opts.insecure,
      host: opts.host,
      port: opts.port,
    });
  } catch (err) {
    throw settingError(err, opts) ?? err;
  }
  const dashboard = `${server.url}/`;
  if (opts.json) console.log(json({ url: server.url, dashboard }));
  else {
    console.log(`jobwire: serving ${server.url} (Ctrl-C to stop)`);
    console.log(
      `jobwire: dashboard at ${dashboard}${token ? ' (it asks for JOBWIRE_TOKEN)' : ''}`,
    );
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
}

/** `jobwire serve`: the HTTP API and the dashboard until Ctrl-C. */
export function addServeCommand(program: Command): void {
  common(program.command('serve'), false)
    .description(
      'serve the HTTP API and the web dashboard (needs JOBWIRE_TOKEN unless --insecure)',
    )
    .option('--port <port>', 'port to listen on', intParser('--port', 0, 65535))
    .option('--host <host>', 'interface to bind')
    .addOption(new Option('--insecure', 'serve without a token').default(false))
    .action((opts: ServeOptions) => serve(opts));
}
