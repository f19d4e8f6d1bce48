package dev.basalt.client.admin;

/** An incremental config change: SET a value or DELETE the override (back to the default). Immutable. */
public record AlterConfigOp(String name, Op op, String value) {
    public enum Op { SET, DELETE }

    public static AlterConfigOp set(String name, String value) {
        return new AlterConfigOp(name, Op.SET, value);
    }

    public static AlterConfigOp delete(String name) {
        return new AlterConfigOp(name, Op.DELETE, null);
    }
}
