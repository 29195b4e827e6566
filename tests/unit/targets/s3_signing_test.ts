/**
 * The Storage reader's Signature Version 4, against the examples AWS publishes for S3 (the
 * local S3 server does not check signatures, so these are what prove them).
 */
import assert from "node:assert/strict";
import {
  authorization,
  canonicalQuery,
  signingKey,
  uriEncode,
} from "../../../shared/targets/s3_http.ts";
import { parseListPage } from "../../../shared/targets/s3_xml.ts";

const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE";
const EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const KEY = signingKey(SECRET, "20130524", "us-east-1");

Deno.test("a ranged GET Object is signed as in AWS's example", () => {
  const header = authorization({
    method: "GET",
    path: "/test.txt",
    query: "",
    signed: {
      host: "examplebucket.s3.amazonaws.com",
      range: "bytes=0-9",
      "x-amz-content-sha256": EMPTY,
      "x-amz-date": "20130524T000000Z",
    },
    payloadHash: EMPTY,
    region: "us-east-1",
    accessKeyId: ACCESS_KEY,
    signingKey: KEY,
  });
  assert.equal(
    header,
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, " +
      "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, " +
      "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
  );
});

Deno.test("a bucket listing with a query is signed as in AWS's example", () => {
  const header = authorization({
    method: "GET",
    path: "/",
    query: canonicalQuery({ prefix: "J", "max-keys": "2" }),
    signed: {
      host: "examplebucket.s3.amazonaws.com",
      "x-amz-content-sha256": EMPTY,
      "x-amz-date": "20130524T000000Z",
    },
    payloadHash: EMPTY,
    region: "us-east-1",
    accessKeyId: ACCESS_KEY,
    signingKey: KEY,
  });
  assert.match(
    header,
    /Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/,
  );
});

Deno.test("keys and XML are encoded and decoded as S3 does", () => {
  assert.equal(
    uriEncode("a b+c?d#e%f&g=h;i'j(k)l*m~n"),
    "a%20b%2Bc%3Fd%23e%25f%26g%3Dh%3Bi%27j%28k%29l%2Am~n",
  );
  assert.equal(uriEncode("名前 🎉"), "%E5%90%8D%E5%89%8D%20%F0%9F%8E%89");
  const key = "a &amp; b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#233; &#x1F389; &amp;lt;";
  const page = parseListPage(
    `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><IsTruncated>false</IsTruncated>` +
      `<Contents><Key>${key}</Key><Size>0012</Size><ETag>&quot;e7&quot;</ETag></Contents>` +
      `<Contents><Key> 0012 </Key><Size>1</Size></Contents></ListBucketResult>`,
  );
  assert.deepEqual(page.objects.map((o) => [o.key, o.size, o.etag]), [
    ["a & b <c> \"d\" 'e' é 🎉 &lt;", 12, "e7"],
    [" 0012 ", 1, ""],
  ]);
  assert.equal(canonicalQuery({ b: "2", a: "1", skip: undefined }), "a=1&b=2");
});
