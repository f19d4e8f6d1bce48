package dev.basalt.metadata.controller;

import java.util.Objects;
import java.util.Optional;

/**
 * The outcome for one topic of a multi-topic request: a response, or the refusal. Immutable.
 *
 * @param name     the topic name as requested
 * @param response the response when the topic's part succeeded
 * @param error    the refusal otherwise
 * @param <R>      response type
 */
public record TopicOutcome<R>(String name, Optional<R> response, Optional<ControllerException> error) {
    public TopicOutcome {
        Objects.requireNonNull(name, "name");
        if (response.isPresent() == error.isPresent()) {
            throw new IllegalArgumentException("exactly one of response and error must be present");
        }
    }

    static <R> TopicOutcome<R> success(String name, R response) {
        return new TopicOutcome<>(name, Optional.of(response), Optional.empty());
    }

    static <R> TopicOutcome<R> failure(String name, ControllerException error) {
        return new TopicOutcome<>(name, Optional.empty(), Optional.of(error));
    }
}
