package dev.basalt.raft.testkit;

import net.jqwik.api.lifecycle.AroundPropertyHook;
import net.jqwik.api.lifecycle.PropagationMode;
import net.jqwik.api.lifecycle.PropertyExecutionResult;
import net.jqwik.api.lifecycle.PropertyExecutor;
import net.jqwik.api.lifecycle.PropertyLifecycleContext;

/**
 * jqwik hook (use with {@code @AddLifecycleHook(ReplayOnFailure.class)}) that prints, when a property
 * fails, its seed and the exact command that replays it. jqwik stores the failing sample in
 * {@code target/.jqwik-database} and runs it first on the next run of the same property, so the
 * printed command replays the shrunk case; {@code @Property(seed = "...")} pins it for good.
 * Stateless and thread-safe.
 */
public final class ReplayOnFailure implements AroundPropertyHook {

    @Override
    public PropagationMode propagateTo() {
        // registered on a test class, it must reach every property of that class
        return PropagationMode.ALL_DESCENDANTS;
    }

    @Override
    public PropertyExecutionResult aroundProperty(PropertyLifecycleContext context, PropertyExecutor property) {
        PropertyExecutionResult result = property.execute();
        if (result.status() == PropertyExecutionResult.Status.FAILED) {
            String test = context.containerClass().getSimpleName() + "#" + context.targetMethod().getName();
            System.err.println("FAILED " + test + " with jqwik seed " + result.seed().orElse("?")
                    + "\n  replay: ./mvnw -B -ntp -pl metadata-raft -am verify -Dtest=" + test
                    + " -Dsurefire.failIfNoSpecifiedTests=false"
                    + "\n  or pin it: @Property(seed = \"" + result.seed().orElse("?") + "\")");
        }
        return result;
    }
}
