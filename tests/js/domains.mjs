// Domains through the AWS SDK for JavaScript v3, against a live openprofiles server.
//
// Needs Node.js >= 20 (the SDK's own minimum). Run by tests/api/test_js_sdk.py:
//   OPENPROFILES_ENDPOINT=http://127.0.0.1:PORT OPENPROFILES_ACCOUNT=123456789012 \
//   OPENPROFILES_DOMAIN=js-sdk-abc node tests/js/domains.mjs
//
// Prints one JSON line of what it observed and exits non-zero on any failed check.

import {
  BadRequestException,
  CreateDomainCommand,
  CustomerProfilesClient,
  DeleteDomainCommand,
  GetDomainCommand,
  ListDomainsCommand,
  ResourceNotFoundException,
  UpdateDomainCommand,
} from "@aws-sdk/client-customer-profiles";

const endpoint = process.env.OPENPROFILES_ENDPOINT;
const account = process.env.OPENPROFILES_ACCOUNT;
const domainName = process.env.OPENPROFILES_DOMAIN || `js-sdk-${Date.now()}`;
const region = "us-east-1";

const observed = { ok: false, domainName, account, steps: [], failures: [] };

function emit(code) {
  process.stdout.write(JSON.stringify(observed) + "\n");
  process.exitCode = code;
}

if (!endpoint || !/^\d{12}$/.test(account || "")) {
  observed.failures.push("OPENPROFILES_ENDPOINT and a 12-digit OPENPROFILES_ACCOUNT are required");
  emit(2);
} else {
  try {
    await main();
    observed.ok = observed.failures.length === 0;
    emit(observed.ok ? 0 : 1);
  } catch (err) {
    observed.failures.push(`unexpected error: ${describeError(err)}`);
    observed.stack = err && err.stack;
    emit(1);
  }
}

function check(condition, message) {
  if (!condition) observed.failures.push(message);
  return condition;
}

function describeError(err) {
  if (!err) return String(err);
  const status = err.$metadata ? err.$metadata.httpStatusCode : undefined;
  return `${err.name}(${status}): ${err.message}`;
}

function errorInfo(err) {
  return {
    name: err && err.name,
    status: err && err.$metadata ? err.$metadata.httpStatusCode : undefined,
    fault: err && err.$fault,
    message: err && err.message,
  };
}

async function expectRejection(promise) {
  try {
    const value = await promise;
    return { resolved: true, value };
  } catch (err) {
    return { resolved: false, err };
  }
}

async function main() {
  const client = new CustomerProfilesClient({
    region,
    endpoint,
    credentials: { accessKeyId: account, secretAccessKey: "secret" },
    maxAttempts: 1,
  });
  const expectedArn = `arn:aws:profile:${region}:${account}:domains/${domainName}`;
  observed.expectedArn = expectedArn;

  // CreateDomain
  const created = await client.send(
    new CreateDomainCommand({
      DomainName: domainName,
      DefaultExpirationDays: 365,
      Tags: { team: "crm", sdk: "js" },
    }),
  );
  observed.steps.push("CreateDomain");
  observed.create = {
    status: created.$metadata.httpStatusCode,
    DomainName: created.DomainName,
    DefaultExpirationDays: created.DefaultExpirationDays,
    CreatedAtIsDate: created.CreatedAt instanceof Date,
    CreatedAt: created.CreatedAt instanceof Date ? created.CreatedAt.toISOString() : String(created.CreatedAt),
    LastUpdatedAtIsDate: created.LastUpdatedAt instanceof Date,
    Tags: created.Tags,
  };
  check(created.$metadata.httpStatusCode === 200, `CreateDomain status ${created.$metadata.httpStatusCode}`);
  check(created.DomainName === domainName, `CreateDomain DomainName ${created.DomainName}`);
  check(created.DefaultExpirationDays === 365, `CreateDomain DefaultExpirationDays ${created.DefaultExpirationDays}`);
  check(created.CreatedAt instanceof Date, "CreateDomain CreatedAt is not a Date");
  check(created.LastUpdatedAt instanceof Date, "CreateDomain LastUpdatedAt is not a Date");
  check(
    created.Tags && created.Tags.team === "crm" && created.Tags.sdk === "js",
    `CreateDomain Tags ${JSON.stringify(created.Tags)}`,
  );

  // GetDomain
  const got = await client.send(new GetDomainCommand({ DomainName: domainName }));
  observed.steps.push("GetDomain");
  observed.get = {
    DomainName: got.DomainName,
    DefaultExpirationDays: got.DefaultExpirationDays,
    CreatedAtIsDate: got.CreatedAt instanceof Date,
    CreatedAt: got.CreatedAt instanceof Date ? got.CreatedAt.toISOString() : String(got.CreatedAt),
    LastUpdatedAtIsDate: got.LastUpdatedAt instanceof Date,
    Stats: got.Stats,
    Tags: got.Tags,
  };
  check(got.DomainName === domainName, `GetDomain DomainName ${got.DomainName}`);
  check(got.DefaultExpirationDays === 365, `GetDomain DefaultExpirationDays ${got.DefaultExpirationDays}`);
  check(got.CreatedAt instanceof Date, "GetDomain CreatedAt is not a Date");
  check(
    got.CreatedAt instanceof Date &&
      created.CreatedAt instanceof Date &&
      got.CreatedAt.getTime() === created.CreatedAt.getTime(),
    "GetDomain CreatedAt differs from CreateDomain's",
  );
  check(got.Stats && got.Stats.ProfileCount === 0, `GetDomain Stats ${JSON.stringify(got.Stats)}`);
  check(got.Tags && got.Tags.team === "crm", `GetDomain Tags ${JSON.stringify(got.Tags)}`);

  // ListDomains
  const listed = await client.send(new ListDomainsCommand({}));
  observed.steps.push("ListDomains");
  const items = listed.Items || [];
  const item = items.find((i) => i.DomainName === domainName);
  observed.list = {
    names: items.map((i) => i.DomainName),
    found: Boolean(item),
    CreatedAtIsDate: Boolean(item && item.CreatedAt instanceof Date),
    Tags: item && item.Tags,
  };
  check(Boolean(item), `ListDomains did not list ${domainName}: ${JSON.stringify(observed.list.names)}`);
  check(Boolean(item && item.CreatedAt instanceof Date), "ListDomains item CreatedAt is not a Date");

  // UpdateDomain
  const updated = await client.send(
    new UpdateDomainCommand({ DomainName: domainName, DefaultExpirationDays: 30, Tags: { stage: "updated" } }),
  );
  observed.steps.push("UpdateDomain");
  observed.update = {
    DomainName: updated.DomainName,
    DefaultExpirationDays: updated.DefaultExpirationDays,
    LastUpdatedAtIsDate: updated.LastUpdatedAt instanceof Date,
    Tags: updated.Tags,
  };
  check(updated.DomainName === domainName, `UpdateDomain DomainName ${updated.DomainName}`);
  check(updated.DefaultExpirationDays === 30, `UpdateDomain DefaultExpirationDays ${updated.DefaultExpirationDays}`);
  check(updated.LastUpdatedAt instanceof Date, "UpdateDomain LastUpdatedAt is not a Date");
  const regot = await client.send(new GetDomainCommand({ DomainName: domainName }));
  observed.afterUpdate = { DefaultExpirationDays: regot.DefaultExpirationDays, Tags: regot.Tags };
  check(regot.DefaultExpirationDays === 30, `GetDomain after update DefaultExpirationDays ${regot.DefaultExpirationDays}`);

  // DeleteDomain
  const deleted = await client.send(new DeleteDomainCommand({ DomainName: domainName }));
  observed.steps.push("DeleteDomain");
  observed.delete = { Message: deleted.Message };
  check(typeof deleted.Message === "string" && deleted.Message.length > 0, "DeleteDomain Message missing");

  // GetDomain on the deleted domain: ResourceNotFoundException, 404
  const missing = await expectRejection(client.send(new GetDomainCommand({ DomainName: domainName })));
  observed.steps.push("GetDomain(deleted)");
  if (check(!missing.resolved, "GetDomain after delete resolved")) {
    const err = missing.err;
    observed.notFound = { ...errorInfo(err), instanceOfModeled: err instanceof ResourceNotFoundException };
    check(err.name === "ResourceNotFoundException", `GetDomain after delete rejected with ${err.name}`);
    check(err.$metadata && err.$metadata.httpStatusCode === 404, `GetDomain after delete status ${observed.notFound.status}`);
    check(err instanceof ResourceNotFoundException, "GetDomain after delete error is not a ResourceNotFoundException");
    check(err.$fault === "client", `GetDomain after delete $fault ${err.$fault}`);
  }

  // CreateDomain with an invalid name: BadRequestException, 400
  const bad = await expectRejection(
    client.send(new CreateDomainCommand({ DomainName: "bad name!", DefaultExpirationDays: 365 })),
  );
  observed.steps.push("CreateDomain(invalid)");
  if (check(!bad.resolved, "CreateDomain with an invalid name resolved")) {
    const err = bad.err;
    observed.badRequest = { ...errorInfo(err), instanceOfModeled: err instanceof BadRequestException };
    check(err.name === "BadRequestException", `CreateDomain invalid name rejected with ${err.name}`);
    check(err.$metadata && err.$metadata.httpStatusCode === 400, `CreateDomain invalid name status ${observed.badRequest.status}`);
    check(err instanceof BadRequestException, "CreateDomain invalid name error is not a BadRequestException");
  }
}
