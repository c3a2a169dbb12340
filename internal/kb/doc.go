// Package kb is StreamDoctor's knowledge base: causes, fixes, evidence
// likelihoods, error codes and the questions worth asking, as YAML embedded
// in the binary (data/*.yaml). Load validates everything and names the file,
// line and key of the first problem it finds. Every number carries a one-line
// reason ("why") in the YAML.
package kb
