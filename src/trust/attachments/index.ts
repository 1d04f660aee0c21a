// Attachments next to an image, for every signature system (cosign, Notation): where they are stored (a registry
// repository, an OCI layout), how referrers are found (the referrers API, else the tag-schema index), and a
// listing of everything attached. Loads no signature library.
export * from './list.js';
export * from './store.js';
