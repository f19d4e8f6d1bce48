/**
 * The admin client's value types: what {@link dev.basalt.client.Admin} takes and returns
 * (topics to create, topic and partition descriptions, configs, cluster and quorum status).
 * All are immutable records, thread-safe. This package depends on nothing else of the client,
 * so both {@code Admin} and its internal request plumbing can use it without a cycle.
 */
package dev.basalt.client.admin;
