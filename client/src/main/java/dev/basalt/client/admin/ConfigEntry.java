package dev.basalt.client.admin;

/** One described config entry; value is null when sensitive. Immutable. */
public record ConfigEntry(String name, String value, String source, boolean readOnly, boolean sensitive, String documentation) {
}
