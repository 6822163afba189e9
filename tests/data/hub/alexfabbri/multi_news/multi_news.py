# stands for the hub's loading script
