/**
 * Reading the XML documents an S3 endpoint answers with (listings, errors, multipart uploads)
 * with a real XML parser (`fast-xml-parser`), for the S3 client (`s3_http.ts`), and writing
 * the one document it sends (the parts of a multipart upload).
 *
 * Parsed as text, never as numbers (`parseTagValue: false`: a key "0012" stays "0012"), never
 * trimmed (a key may begin or end with spaces), character references decoded (`&#x1F389;`:
 * S3 escapes control characters in keys that way) and entity expansion bounded by the parser.
 *
 * @module
 */
import { XMLParser } from "fast-xml-parser";

/** Elements that repeat: kept as arrays even when there is one. */
const LISTS = new Set(["ListBucketResult.Contents", "ListAllMyBucketsResult.Buckets.Bucket"]);

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: false,
  // Numeric character references are decoded only with this; named HTML entities, which S3
  // never sends, come along.
  htmlEntities: true,
  isArray: (_name, path) => LISTS.has(String(path)),
});

/** One object of a ListObjectsV2 page. */
export interface S3ListedObject {
  key: string;
  size: number;
  /** ETag without quotes. */
  etag: string;
  /** As the endpoint wrote it (ISO 8601), when it did. */
  lastModified?: string;
}

/** One page of a ListObjectsV2 answer. */
export interface S3ListPage {
  objects: S3ListedObject[];
  truncated: boolean;
  /** The continuation token of the next page (only when truncated). */
  token?: string;
}

type Node = Record<string, unknown>;

/** Parses an XML document into plain objects (elements by name, text as strings). */
export function parseXml(xml: string): Node {
  const parsed = parser.parse(xml) as unknown;
  return isNode(parsed) ? parsed : {};
}

/** A ListObjectsV2 page (`ListBucketResult`). */
export function parseListPage(xml: string): S3ListPage {
  const result = child(parseXml(xml), "ListBucketResult");
  const objects: S3ListedObject[] = [];
  for (const item of children(result, "Contents")) {
    const key = text(item.Key);
    if (key === undefined) continue;
    objects.push({
      key,
      size: Number(text(item.Size) ?? 0),
      etag: normalizeEtag(text(item.ETag)),
      lastModified: text(item.LastModified) || undefined,
    });
  }
  const truncated = text(result.IsTruncated) === "true";
  const token = text(result.NextContinuationToken) || undefined;
  return { objects, truncated, token: truncated ? token : undefined };
}

/** The bucket names of a ListBuckets answer (`ListAllMyBucketsResult`), in its order. */
export function parseBucketNames(xml: string): string[] {
  const buckets = child(child(parseXml(xml), "ListAllMyBucketsResult"), "Buckets");
  return children(buckets, "Bucket").map((b) => text(b.Name) ?? "").filter(Boolean);
}

/** The code and message of an error answer (`<Error>`), when it is one. */
export function parseError(xml: string): { code?: string; message?: string } | undefined {
  if (!xml) return undefined;
  let root: Node;
  try {
    root = parseXml(xml);
  } catch {
    return undefined;
  }
  if (!isNode(root.Error)) return undefined;
  return { code: text(root.Error.Code) || undefined, message: text(root.Error.Message) };
}

/** The upload id of a CreateMultipartUpload answer. */
export function parseUploadId(xml: string): string | undefined {
  return text(child(parseXml(xml), "InitiateMultipartUploadResult").UploadId) || undefined;
}

/** The body of a CompleteMultipartUpload request, parts in order. */
export function completeMultipartXml(etags: readonly string[]): string {
  const parts = etags.map((etag, i) =>
    `<Part><ETag>${escapeXml(etag)}</ETag><PartNumber>${i + 1}</PartNumber></Part>`
  );
  return `<?xml version="1.0" encoding="UTF-8"?>` +
    `<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
    `${parts.join("")}</CompleteMultipartUpload>`;
}

/** Strips the quotes (and weak marker) S3 puts around ETags. */
export function normalizeEtag(etag: string | null | undefined): string {
  return (etag ?? "").replace(/^W\//, "").replace(/^"|"$/g, "");
}

/** Escapes element text as the AWS SDK does (quotes need none there). */
function escapeXml(value: string): string {
  return value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function isNode(value: unknown): value is Node {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function child(node: Node, name: string): Node {
  const value = node[name];
  return isNode(value) ? value : {};
}

function children(node: Node, name: string): Node[] {
  const value = node[name];
  return (Array.isArray(value) ? value : [value]).filter(isNode);
}

/** The text of a leaf element ("" when empty), undefined when absent. */
function text(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (isNode(value)) return value["#text"] === undefined ? "" : String(value["#text"]);
  return String(value);
}
