#!/usr/bin/env node
// A protoc plugin (run by `buf generate`, see buf.gen.yaml) that writes gen/package.json and gen/tsconfig.json,
// which make gen/ the npm workspace package @agentnet/gen. buf.gen.yaml's `clean: true` empties gen/ before every
// run, so whatever lives in gen/ must come out of buf generate: these two files are copied from
// scripts/gen-package/, where they are edited. CI's freshness check then covers them like the rest of gen/.
// Runs on Node >= 23.6 (type stripping): buf is started by npm/npx, whose PATH puts Node 24 first.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { CodeGeneratorRequestSchema, CodeGeneratorResponseSchema, CodeGeneratorResponse_Feature, Edition } from "@bufbuild/protobuf/wkt";
import { readFileSync, readdirSync, writeSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

fromBinary(CodeGeneratorRequestSchema, readFileSync(0)); // the proto files do not matter here

const templates = path.join(path.dirname(fileURLToPath(import.meta.url)), "gen-package");
const file = readdirSync(templates)
  .sort()
  .map((name) => ({ name, content: readFileSync(path.join(templates, name), "utf8") }));

const response = create(CodeGeneratorResponseSchema, {
  supportedFeatures: BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL | CodeGeneratorResponse_Feature.SUPPORTS_EDITIONS),
  minimumEdition: Edition.EDITION_PROTO2,
  maximumEdition: Edition.EDITION_2024,
  file,
});
const out = toBinary(CodeGeneratorResponseSchema, response);
for (let off = 0; off < out.length; ) off += writeSync(1, out, off);
