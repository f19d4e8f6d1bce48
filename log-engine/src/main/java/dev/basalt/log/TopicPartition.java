package dev.basalt.log;

import java.util.Objects;

/**
 * A partition of a topic: the unit the log engine stores. Its directory under the data dir is
 * {@code <topic>-<partition>} (Kafka's layout), so a topic name may itself contain '-': the
 * partition number is what follows the last '-'.
 *
 * <p>Immutable value type; thread-safe.
 *
 * @param topic     Kafka's legal topic characters {@code [a-zA-Z0-9._-]}, 1 to 249 chars
 * @param partition zero or positive
 */
public record TopicPartition(String topic, int partition) {
    /** Kafka's limit: leaves room for the partition suffix and delete markers in a 255-byte file name. */
    public static final int TOPIC_LENGTH_MAX = dev.basalt.common.TopicNames.NAME_LENGTH_MAX;

    public TopicPartition {
        Objects.requireNonNull(topic, "topic");
        // the one definition of a legal name, shared with the controller and the client
        String problem = dev.basalt.common.TopicNames.validate(topic);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
        if (partition < 0) {
            throw new IllegalArgumentException("partition " + partition + " < 0");
        }
    }

    /** The partition's directory name under the data dir. */
    public String dirName() {
        return topic + "-" + partition;
    }

    /**
     * Parses a directory name made by {@link #dirName()}.
     *
     * @return null if the name is not a partition directory
     */
    public static TopicPartition parseDirName(String name) {
        int dash = name.lastIndexOf('-');
        if (dash <= 0 || dash == name.length() - 1) {
            return null;
        }
        String number = name.substring(dash + 1);
        for (int i = 0; i < number.length(); i++) {
            if (number.charAt(i) < '0' || number.charAt(i) > '9') {
                return null;
            }
        }
        if (number.length() > 9 || (number.length() > 1 && number.charAt(0) == '0')) {
            return null;
        }
        try {
            return new TopicPartition(name.substring(0, dash), Integer.parseInt(number));
        } catch (IllegalArgumentException e) {
            return null;
        }
    }

    @Override
    public String toString() {
        return dirName();
    }
}
