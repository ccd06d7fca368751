// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title SettlementVault
/// @notice Holds every wei of creator revenue (tips, pass sales, royalties) until the
/// operator allocates it to a settlement batch, whose payees then claim with a
/// Merkle proof. Leaves are OpenZeppelin StandardMerkleTree leaves of type
/// (address account, uint256 amount):
///   leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))))
/// @dev Accounting is event-exact: ETH enters only through tip() and deposit(),
/// which both add to `_totalReceived`; settle() adds to `_totalAllocated`.
/// unallocated() = _totalReceived - _totalAllocated. ETH forced in without a call
/// (selfdestruct, coinbase) is never counted as revenue and can never be allocated,
/// so every allocated wei is backed by a Tipped or RevenueReceived event.
/// Solvency: balance >= received - claimed >= allocated - claimed = sum of what
/// batches still owe, because each claim is bounded by its batch's remainder.
contract SettlementVault is AccessControl, ReentrancyGuard {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    uint8 internal constant KIND_PASS_SALE = 1;
    uint8 internal constant KIND_ROYALTY = 2;

    /// @dev One settlement batch. `total` and `remaining` share a slot so that a
    /// claim reads and writes a single slot besides the root and its claimed flag.
    struct Batch {
        bytes32 root;
        uint128 total;
        uint128 remaining;
    }

    uint256 private _totalReceived;
    uint256 private _totalAllocated;
    mapping(bytes32 batchKey => Batch) private _batches;
    mapping(bytes32 batchKey => mapping(address account => bool)) private _claimed;
    mapping(bytes32 streamKey => bytes32) private _recordingRoots;

    event Tipped(bytes32 indexed streamKey, address indexed from, uint256 amount);
    event RevenueReceived(
        bytes32 indexed creatorKey, address indexed source, uint8 kind, address payer, uint256 amount
    );
    event SettlementAnchored(bytes32 indexed batchKey, bytes32 root, uint256 total);
    event Claimed(bytes32 indexed batchKey, address indexed account, uint256 amount);
    event RecordingAnchored(bytes32 indexed streamKey, bytes32 root, uint256 segmentCount);

    error ZeroAddress();
    error ZeroValue();
    error InvalidKind(uint8 kind);
    error ZeroRoot();
    error ZeroTotal();
    error BatchAlreadyUsed(bytes32 batchKey);
    error InsufficientUnallocated(uint256 total, uint256 unallocated);
    error UnknownBatch(bytes32 batchKey);
    error AlreadyClaimed(bytes32 batchKey, address account);
    error InvalidProof();
    error BatchOverdrawn(bytes32 batchKey, uint256 amount, uint256 remaining);
    error TransferFailed(address account, uint256 amount);
    error RecordingAlreadyAnchored(bytes32 streamKey);
    error ZeroSegments();

    constructor(address admin, address operator) {
        if (admin == address(0) || operator == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
    }

    // ---------------------------------------------------------------- revenue in

    /// @notice Tip the creator of `streamKey` (= keccak256(bytes(stream_id))).
    function tip(bytes32 streamKey) external payable {
        if (msg.value == 0) revert ZeroValue();
        _totalReceived += msg.value;
        emit Tipped(streamKey, msg.sender, msg.value);
    }

    /// @notice Revenue forwarded by a pass contract: kind 1 = pass sale, 2 = royalty.
    /// `payer` is the buyer or royalty sender as reported by the source (msg.sender).
    function deposit(bytes32 creatorKey, uint8 kind, address payer) external payable {
        if (kind != KIND_PASS_SALE && kind != KIND_ROYALTY) revert InvalidKind(kind);
        if (msg.value == 0) revert ZeroValue();
        _totalReceived += msg.value;
        emit RevenueReceived(creatorKey, msg.sender, kind, payer, msg.value);
    }

    // ---------------------------------------------------------------- settlement

    /// @notice Anchor a settlement batch: `root` of the (address, uint256) tree
    /// whose amounts sum to `total`, allocated from the unallocated balance.
    /// Gas is independent of the number of payees.
    function settle(bytes32 batchKey, bytes32 root, uint256 total) external onlyRole(OPERATOR_ROLE) {
        if (root == bytes32(0)) revert ZeroRoot();
        if (total == 0) revert ZeroTotal();
        Batch storage b = _batches[batchKey];
        if (b.root != bytes32(0)) revert BatchAlreadyUsed(batchKey);
        uint256 free = _totalReceived - _totalAllocated;
        // total <= free <= _totalReceived, and all ETH in existence is far below
        // 2^128 wei, so the uint128 casts below cannot truncate.
        if (total > free) revert InsufficientUnallocated(total, free);
        _totalAllocated += total;
        b.root = root;
        b.total = uint128(total);
        b.remaining = uint128(total);
        emit SettlementAnchored(batchKey, root, total);
    }

    /// @notice Pay `amount` to `account` from batch `batchKey`, once per account.
    /// Anyone may submit the claim; the ETH always goes to `account`.
    function claim(bytes32 batchKey, address account, uint256 amount, bytes32[] calldata proof)
        external
        nonReentrant
    {
        Batch storage b = _batches[batchKey];
        bytes32 root = b.root;
        if (root == bytes32(0)) revert UnknownBatch(batchKey);
        if (_claimed[batchKey][account]) revert AlreadyClaimed(batchKey, account);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof();
        uint256 remaining = b.remaining;
        if (amount > remaining) revert BatchOverdrawn(batchKey, amount, remaining);

        _claimed[batchKey][account] = true;
        b.remaining = uint128(remaining - amount);
        emit Claimed(batchKey, account, amount);

        (bool ok,) = account.call{value: amount}("");
        if (!ok) revert TransferFailed(account, amount);
    }

    // ---------------------------------------------------------------- recordings

    /// @notice Anchor the root of a recording's (uint256 rendition, uint256 sequence,
    /// bytes32 sha256) tree. Once per stream.
    function anchorRecording(bytes32 streamKey, bytes32 root, uint256 segmentCount)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (root == bytes32(0)) revert ZeroRoot();
        if (segmentCount == 0) revert ZeroSegments();
        if (_recordingRoots[streamKey] != bytes32(0)) revert RecordingAlreadyAnchored(streamKey);
        _recordingRoots[streamKey] = root;
        emit RecordingAnchored(streamKey, root, segmentCount);
    }

    // ---------------------------------------------------------------- views

    function settlementRoot(bytes32 batchKey) external view returns (bytes32) {
        return _batches[batchKey].root;
    }

    function settlementTotal(bytes32 batchKey) external view returns (uint256) {
        return _batches[batchKey].total;
    }

    function recordingRoot(bytes32 streamKey) external view returns (bytes32) {
        return _recordingRoots[streamKey];
    }

    function claimed(bytes32 batchKey, address account) external view returns (bool) {
        return _claimed[batchKey][account];
    }

    /// @notice Revenue received through tip()/deposit() not yet allocated to a batch.
    function unallocated() external view returns (uint256) {
        return _totalReceived - _totalAllocated;
    }
}
