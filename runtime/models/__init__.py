"""Built-in models. Each public class of this folder is found by its class name."""
