// certvault: one binary for the server, the agent, the worker and the command-line client.
int main() { return 0; }
