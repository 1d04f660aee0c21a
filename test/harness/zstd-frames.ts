// Hand-built zstd frames for the layer tests and the decompress fuzz target: exact bytes, no encoder needed.

/** A frame with one raw block: magic, descriptor 0 (a window byte follows, no checksum), window byte, block. */
export function rawFrame(data: Buffer, windowByte = 0x00): Buffer {
  const h = (data.length << 3) | 1; // last block, raw
  return Buffer.concat([
    Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, windowByte, h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]),
    data,
  ]);
}

/** A skippable frame (magic 0x184D2A5`nibble`, any of the sixteen) carrying `data`. */
export function skippable(data: Buffer, nibble = 0): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(0x184d2a50 + nibble, 0);
  h.writeUInt32LE(data.length, 4);
  return Buffer.concat([h, data]);
}
