/** trustpin's version, as `--version` prints it and SARIF reports name it (package.json's `version`). */
export const VERSION = '0.1.0';
