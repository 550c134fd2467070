/**
 * The codegen CLI's errors: each a one-line `file:line:col: error:` message,
 * exit 1, nothing written. One case runs `cli.ts` as a child process; the
 * others call runCli in this process (see cli.test.ts).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { BASE, escape } from './cli-base.ts';
import { edit, lineOf, makeScratch } from './helpers.ts';

describe('codegen CLI', { timeout: 400_000 }, () => {
  const s = makeScratch();

  describe("errors: exit 1, one file:line message (TypeScript's chain indented below it), nothing written", () => {
    // Errors leave the files of the last good run as they were.
    beforeAll(async () => {
      s.writeSchema(BASE);
      const r = await s.runInProcess();
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    const cases: {
      error: string;
      schema: string;
      at: string;
      message: RegExp;
      /** What the indented continuation lines must hold, if any. */
      detail?: RegExp;
      /**
       * Run as a child process: one case proves the exit status and the
       * streams as a shell sees them; the rest call runCli in this process.
       */
      spawn?: true;
    }[] = [
      {
        error: 'a syntax error',
        schema: edit(
          BASE,
          'subject: z.string().optional(),',
          'subject: z.string().optional() +,',
        ),
        at: 'subject: z.string().optional() +,',
        message: /does not type-check \(TS1109\)/,
        spawn: true,
      },
      {
        error: 'a type error',
        schema: edit(
          BASE,
          'subject: z.string().optional(),',
          "subject: z.string().min('1').optional(),",
        ),
        at: "subject: z.string().min('1')",
        message: /does not type-check \(TS2345\)/,
      },
      {
        error: 'a job without payload',
        schema: edit(
          BASE,
          "    payload: z.object({\n      url: z.url(),\n      format: z.enum(['png', 'jpeg']),\n    }),\n",
          '',
        ),
        at: 'resize: job({',
        // TypeScript rejects it first: the missing property is named in
        // the later lines of its message chain, which are kept.
        message: /does not type-check \(TS2345\)/,
        detail: /^ {4,}Property 'payload' is missing/m,
      },
      {
        error: 'an unsafe job name',
        schema: edit(BASE, '  resize: job({', "  'bad name': job({"),
        at: "'bad name': job({",
        message: /job type name "bad name" is not allowed/,
      },
      {
        error: 'a duplicate job name',
        schema: edit(BASE, '  resize: job({', '  sendEmail: job({ // again'),
        at: 'sendEmail: job({ // again',
        message: /TS1117|duplicate job type name/,
      },
      {
        // 'send-email' and 'sendEmail' both generate enqueueSendEmail,
        // SendEmailPayload and SendEmailHandler: the generated modules
        // declared each twice and failed tsc (TS2300) while codegen exited 0.
        error: 'job names that differ only in punctuation',
        schema: edit(BASE, '  resize: job({', "  'send-email': job({"),
        at: "'send-email': job({",
        message:
          /^job type names "sendEmail" \(line 6, column 3\) and "send-email" \(line \d+, column 3\) generate the same identifiers \(enqueueSendEmail, SendEmailPayload, SendEmailHandler and 4 more\); rename one of them$/,
      },
      {
        // enqueueSendEmailBulk is the bulk variant of sendEmail and the
        // enqueue function of sendEmailBulk.
        error: "a job name that is another's generated name",
        schema: edit(BASE, '  resize: job({', '  sendEmailBulk: job({'),
        at: 'sendEmailBulk: job({',
        message:
          /^job type names "sendEmail" \(line 6, column 3\) and "sendEmailBulk" \(line \d+, column 3\) generate the same identifier \(enqueueSendEmailBulk\); rename one of them$/,
      },
      {
        error: 'a z.date() field',
        schema: edit(
          BASE,
          '      to: z.email(),',
          '      to: z.email(),\n      sendAt: z.date(),',
        ),
        at: 'sendAt: z.date(),',
        message:
          /sendEmail payload\.sendAt: z\.date\(\) has no JSON form; .*ISO string/,
      },
      {
        error: 'a z.bigint() field',
        schema: edit(
          BASE,
          '      to: z.email(),',
          '      to: z.email(),\n      amount: z.bigint(),',
        ),
        at: 'amount: z.bigint(),',
        message: /sendEmail payload\.amount: z\.bigint\(\) has no JSON form/,
      },
      {
        error: 'a z.map() field',
        schema: edit(
          BASE,
          '      to: z.email(),',
          '      to: z.email(),\n      headers: z.map(z.string(), z.string()),',
        ),
        at: 'headers: z.map(',
        message:
          /sendEmail payload\.headers: z\.map\(\) has no JSON form; use z\.record\(\)/,
      },
    ];

    it.each(cases)(
      '$error',
      async ({ schema: text, at, message, detail, spawn }) => {
        const before = s.state();
        s.writeSchema(text);
        const r = spawn ? s.run() : await s.runInProcess();
        expect(r.status).toBe(1);
        expect(r.stdout).toBe('');
        const lines = r.stderr.trimEnd().split('\n');
        // One `file:line:col: error:` line; TypeScript's chain, when it has
        // one, follows on indented lines as tsc prints it.
        for (const more of lines.slice(1)) expect(more).toMatch(/^ {2}/);
        if (detail !== undefined) {
          expect(lines.length).toBeGreaterThan(1);
          expect(lines.slice(1).join('\n')).toMatch(detail);
        }
        const prefix = new RegExp(
          `^${escape(s.schemaRel)}:${lineOf(text, at)}:\\d+: error: `,
        );
        expect(lines[0]).toMatch(prefix);
        expect(lines[0]!.replace(prefix, '')).toMatch(message);
        expect(s.state()).toEqual(before);
      },
    );
  });
});
