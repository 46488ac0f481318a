"""leadgate: open-source lead validation with Connect between instances."""
