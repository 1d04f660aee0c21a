// Media types trustpin understands (OCI image-spec, Docker distribution, containerd).
/** The media types trustpin knows. */
export const MT = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar',
  dockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  schema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  schema1: 'application/vnd.docker.distribution.manifest.v1+json',
  cosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  notationSignature: 'application/vnd.cncf.notary.signature',
} as const;

export const INDEX_TYPES: readonly string[] = [MT.ociIndex, MT.dockerList];
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MT.ociManifest, MT.dockerManifest];
export const SCHEMA1_TYPES: readonly string[] = [MT.schema1Signed, MT.schema1, 'application/json'];

/** The Accept list for every manifest request: schema1 is never asked for (a registry falls back to it alone). */
export const MANIFEST_ACCEPT = [MT.ociIndex, MT.dockerList, MT.ociManifest, MT.dockerManifest].join(', ');

export function isIndexType(mt: string | undefined): boolean {
  return mt !== undefined && INDEX_TYPES.includes(mt);
}
export function isManifestType(mt: string | undefined): boolean {
  return (
    mt !== undefined &&
    (INDEX_TYPES.includes(mt) || IMAGE_MANIFEST_TYPES.includes(mt) || SCHEMA1_TYPES.includes(mt))
  );
}
