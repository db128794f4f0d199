/** agentnet's version, as package.json states it (a test keeps the two equal); traces and metrics report it. */
export const VERSION = "0.1.0";
