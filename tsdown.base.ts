/**
 * The build every published package shares: ESM JavaScript for Node 20.19+
 * (the first Node 20 where `require(esm)` works unflagged, so CommonJS
 * callers can load it too) plus bundled declaration files. Dependencies stay
 * external: tsdown leaves every package.json dependency as an import.
 */
import type { UserConfig } from 'tsdown';

/** The shared options; a package adds its entries (and assets, if any). */
export function packageBuild(entry: Record<string, string>): UserConfig {
  return {
    entry,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    fixedExtension: false,
    tsconfig: 'tsconfig.build.json',
    dts: true,
    clean: true,
  };
}
