// Loads Basalt's basalt.v1 services from the repository's .proto files at run time
// (@grpc/proto-loader): no generated code. Exports RecordService and GroupService client
// constructors.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_DIR = path.join(__dirname, '..', '..', 'proto', 'src', 'main', 'proto');
const definition = protoLoader.loadSync(['records.proto', 'group.proto', 'errors.proto'], {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,      // int64 offsets as decimal strings: exact beyond 2^53
  enums: String,      // error codes by name ("NONE", "NOT_LEADER", ...)
  defaults: true,
});
const v1 = grpc.loadPackageDefinition(definition).basalt.v1;

function address(arg) {
  return arg || process.env.BASALT_ADDRESS || '127.0.0.1:9400';
}

function recordService(addr) {
  return new v1.RecordService(address(addr), grpc.credentials.createInsecure());
}

function groupService(addr) {
  return new v1.GroupService(address(addr), grpc.credentials.createInsecure());
}

// A unary call as a promise; rejects on a gRPC status other than OK (the transport failed).
function unary(client, method, request, timeoutMs) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + (timeoutMs || 30000) }, (err, resp) => (err ? reject(err) : resolve(resp)));
  });
}

module.exports = { grpc, recordService, groupService, unary, address };
