// placeholder: filled in by issue 17
export async function main(): Promise<void> {
  throw new Error('not yet');
}
