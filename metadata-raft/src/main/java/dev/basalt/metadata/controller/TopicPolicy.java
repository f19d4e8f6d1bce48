package dev.basalt.metadata.controller;

import dev.basalt.metadata.image.ConfigResource;
import dev.basalt.metadata.image.MetadataImage;
import java.util.Map;

/**
 * The two topic settings the controller's election rules depend on, resolved from the topic's config
 * overrides and the cluster defaults in {@link ControllerConfig}. Immutable value.
 *
 * <p>Values the broker's config validator would refuse never reach the image in production; if one
 * does (a validator that accepts everything, a hand-written record), an unparsable or non-positive
 * {@code min.insync.replicas} counts as the default and any value other than {@code "true"} (case
 * ignored, Kafka's parsing) as false, which is the safe reading of unclean election.
 *
 * @param minInsyncReplicas the ISR size below which the high watermark stops and ELR starts (>= 1)
 * @param uncleanAllowed    whether a replica outside ISR and ELR may be elected when nothing else can lead
 */
record TopicPolicy(int minInsyncReplicas, boolean uncleanAllowed) {
    /** Topic config key: ISR size required for acks=all writes and for the high watermark to advance. */
    static final String MIN_INSYNC_REPLICAS = "min.insync.replicas";
    /** Topic config key that opts a topic into unclean leader election (may lose acknowledged records). */
    static final String UNCLEAN_LEADER_ELECTION_ENABLE = "unclean.leader.election.enable";

    TopicPolicy {
        if (minInsyncReplicas < 1) {
            throw new IllegalArgumentException("minInsyncReplicas " + minInsyncReplicas);
        }
    }

    static TopicPolicy of(Map<String, String> topicConfigs, ControllerConfig config) {
        int minIsr = config.minInsyncReplicasDefault();
        String value = topicConfigs.get(MIN_INSYNC_REPLICAS);
        if (value != null) {
            try {
                int parsed = Integer.parseInt(value.trim());
                minIsr = parsed >= 1 ? parsed : minIsr;
            } catch (NumberFormatException e) {
                // the default stands; see the class javadoc
            }
        }
        String unclean = topicConfigs.get(UNCLEAN_LEADER_ELECTION_ENABLE);
        boolean uncleanAllowed = unclean == null ? config.uncleanLeaderElectionDefault()
                : unclean.trim().equalsIgnoreCase("true");
        return new TopicPolicy(minIsr, uncleanAllowed);
    }

    static TopicPolicy of(MetadataImage image, String topicName, ControllerConfig config) {
        return of(image.configs().configs(ConfigResource.topic(topicName)), config);
    }
}
