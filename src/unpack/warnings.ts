// Named warnings of an unpack: each says what an entry wanted, what was done instead, and why. A warning is
// never a write outside the root; anything that would be one is an error (PATH_ESCAPE / LAYER_INVALID).

/** The kinds of unpack warnings. */
export type UnpackWarningCode =
  /** an absolute entry name (`/etc/x`) was written relative to the root, as docker and umoci do */
  | 'ABSOLUTE_PATH'
  /** an entry was written through a symlink that an earlier entry created; resolved inside the root */
  | 'SYMLINK_TRAVERSAL'
  /** a device node was skipped: not root, or no --allow-devices */
  | 'DEVICE_SKIPPED'
  /** setuid/setgid bits were removed from a file (no --preserve-setid) */
  | 'SETID_STRIPPED'
  /** extended attributes were not applied (Node has no xattr API) */
  | 'XATTR_SKIPPED'
  /** a whiteout named something written by its own layer; whiteouts only hide lower layers */
  | 'WHITEOUT_IGNORED';

/** Something the unpack changed or skipped to stay safe. */
export interface UnpackWarning {
  code: UnpackWarningCode;
  /** index of the layer (0 = bottom) */
  layer: number;
  /** the entry's normalised path */
  path: string;
  message: string;
}

export type WarningSink = (w: UnpackWarning) => void;
