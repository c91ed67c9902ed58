// aws-jwt-verify (pinned in package.json) on the tokens Python generated: the anchor row.
// Usage: node bench/node/jwt_verify.mjs INPUT.json PASSES -> prints per-pass µs/op as JSON
// (one benchmark block: the harness takes the median and interleaves blocks with Python's).
import { readFileSync } from "node:fs";
import { JwtVerifier } from "aws-jwt-verify";

const [input, roundsText] = process.argv.slice(2);
const { jwks, issuer, audience, tokens } = JSON.parse(readFileSync(input, "utf8"));
const verifier = JwtVerifier.create({
  issuer,
  audience,
  jwksUri: "https://idp.example.invalid/jwks.json",
});
verifier.cacheJwks(jwks);
for (let pass = 0; pass < 3; pass++) for (const token of tokens) verifier.verifySync(token); // warm-up (JIT)
const samples = [];
for (let round = 0; round < Number(roundsText); round++) {
  const start = process.hrtime.bigint();
  for (const token of tokens) verifier.verifySync(token);
  const elapsed = Number(process.hrtime.bigint() - start) / 1000;
  samples.push(elapsed / tokens.length);
}
process.stdout.write(JSON.stringify(samples));
