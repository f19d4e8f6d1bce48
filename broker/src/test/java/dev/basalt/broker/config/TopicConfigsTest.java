package dev.basalt.broker.config;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.basalt.log.InvalidConfigException;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Topic config checks: one key alone (as the controller checks each key of a request) never
 * applies a rule between keys against defaults it will not be used with; the whole set does.
 * Reproduce with {@code ./mvnw -B -ntp -o -pl broker -am verify -Dtest=TopicConfigsTest -Dsurefire.failIfNoSpecifiedTests=false}.
 */
class TopicConfigsTest {
    static final Map<String, String> BROKER = Map.of("max.compaction.lag.ms", "3600000", "retention.ms", "604800000");

    /** Review finding: min.compaction.lag.ms of a request that also raises max.compaction.lag.ms was refused key by key. */
    @Test
    void aKeyAlone_isNotHeldToARuleWithTheDefaults_butTheSetIs() {
        assertDoesNotThrow(() -> TopicConfigs.validate(Map.of("min.compaction.lag.ms", "7200000"), BROKER));
        assertDoesNotThrow(() -> TopicConfigs.validateSet(Map.of("min.compaction.lag.ms", "7200000",
                "max.compaction.lag.ms", "86400000"), BROKER));
        InvalidConfigException e = assertThrows(InvalidConfigException.class,
                () -> TopicConfigs.validateSet(Map.of("min.compaction.lag.ms", "7200000"), BROKER));
        assertTrue(e.getMessage().contains("below min.compaction.lag.ms (7200000)"), e.getMessage());
    }

    @Test
    void badValuesAndUnknownKeys_areRefusedAlone() {
        assertThrows(InvalidConfigException.class, () -> TopicConfigs.validate(Map.of("min.cleanable.dirty.ratio", "2"), BROKER));
        assertThrows(InvalidConfigException.class, () -> TopicConfigs.validate(Map.of("max.compaction.lag.ms", "0"), BROKER));
        assertThrows(InvalidConfigException.class, () -> TopicConfigs.validate(Map.of("min.cleanable.ratio", "0.5"), BROKER),
                "the broker key's name is not a topic key");
    }
}
