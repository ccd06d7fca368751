// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title SettlementVault (v2)
/// @notice Holds every wei of creator revenue (tips, pass sales, royalties),
/// accounted per creator, until the operator allocates part of one creator's
/// revenue to a settlement batch. After an audit window (`claimDelay`) in which
/// the guardian may veto the batch, its payees claim with a Merkle proof. Leaves
/// are OpenZeppelin StandardMerkleTree leaves of type (address account, uint256 amount):
///   leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))))
/// @dev Roles: the admin (AccessControlDefaultAdminRules: two-step handover with
/// ADMIN_TRANSFER_DELAY, no one-step renounce) grants and revokes roles;
/// OPERATOR_ROLE settles, reclaims and anchors recordings; GUARDIAN_ROLE only
/// cancels batches still inside their audit window.
///
/// Accounting is event-exact and per creator: ETH enters only through tip() and
/// deposit(), which add to `_receivedOf[creatorKey]`; settle() adds to
/// `_allocatedOf[creatorKey]`, cancel and reclaim subtract what the batch still
/// owes. unallocatedOf(c) = receivedOf(c) - allocatedOf(c). ETH forced in without a
/// call (selfdestruct, coinbase) is never counted as revenue and never allocated.
/// Solvency, for each creator c: allocatedOf(c) <= receivedOf(c), and
/// allocatedOf(c) = claimed(c) + sum of what c's live batches still owe; so
/// balance >= sum_c (receivedOf(c) - claimed(c)) >= what all batches still owe.
contract SettlementVault is AccessControlDefaultAdminRules, ReentrancyGuardTransient {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");

    /// @notice Delay between beginDefaultAdminTransfer and its acceptance.
    uint48 public constant ADMIN_TRANSFER_DELAY = 1 days;
    /// @notice Upper bounds of the immutable time parameters (seconds).
    uint64 public constant CLAIM_DELAY_MAX = 30 days;
    uint64 public constant CLAIM_WINDOW_MAX = 10 * 365 days;

    uint8 internal constant KIND_PASS_SALE = 1;
    uint8 internal constant KIND_ROYALTY = 2;

    uint8 internal constant STATE_NONE = 0;
    uint8 internal constant STATE_LIVE = 1;
    uint8 internal constant STATE_CANCELLED = 2;
    uint8 internal constant STATE_RECLAIMED = 3;

    /// @dev One settlement batch. A claim reads `root` and the slot holding
    /// `remaining`, `claimableAt` and `state`, and writes only the latter.
    struct Batch {
        bytes32 root;
        uint128 remaining;
        uint64 claimableAt;
        uint8 state;
        uint128 total;
        bytes32 creatorKey;
    }

    uint64 private immutable _claimDelay;
    uint64 private immutable _claimWindow;

    uint256 private _totalReceived;
    uint256 private _totalAllocated;
    mapping(bytes32 creatorKey => uint256) private _receivedOf;
    mapping(bytes32 creatorKey => uint256) private _allocatedOf;
    mapping(bytes32 batchKey => Batch) private _batches;
    mapping(bytes32 batchKey => mapping(address account => bool)) private _claimed;
    mapping(bytes32 streamKey => bytes32) private _recordingRoots;

    event Tipped(bytes32 indexed creatorKey, bytes32 indexed streamKey, address indexed from, uint256 amount);
    event RevenueReceived(
        bytes32 indexed creatorKey, address indexed source, uint8 kind, address payer, uint256 amount
    );
    event SettlementAnchored(
        bytes32 indexed batchKey, bytes32 indexed creatorKey, bytes32 root, uint256 total, uint64 claimableAt
    );
    event SettlementCancelled(bytes32 indexed batchKey, bytes32 indexed creatorKey, uint256 total);
    event SettlementReclaimed(bytes32 indexed batchKey, bytes32 indexed creatorKey, uint256 amount);
    event Claimed(bytes32 indexed batchKey, address indexed account, uint256 amount);
    event RecordingAnchored(bytes32 indexed streamKey, bytes32 root, uint256 segmentCount);

    error ZeroAddress();
    error RoleConflict(address account);
    error ClaimDelayTooLong(uint64 claimDelay, uint64 maximum);
    error ClaimWindowTooLong(uint64 claimWindow, uint64 maximum);
    error ZeroValue();
    error InvalidKind(uint8 kind);
    error ZeroRoot();
    error ZeroTotal();
    error BatchAlreadyUsed(bytes32 batchKey);
    error InsufficientUnallocated(bytes32 creatorKey, uint256 total, uint256 unallocated);
    error UnknownBatch(bytes32 batchKey);
    error BatchNotLive(bytes32 batchKey, uint8 state);
    error NotYetClaimable(bytes32 batchKey, uint64 claimableAt);
    error ClaimWindowClosed(bytes32 batchKey, uint256 closedAt);
    error ClaimWindowOpen(bytes32 batchKey, uint256 closesAt);
    error NoClaimWindow();
    error AuditWindowClosed(bytes32 batchKey, uint64 claimableAt);
    error AlreadyClaimed(bytes32 batchKey, address account);
    error InvalidProof();
    error BatchOverdrawn(bytes32 batchKey, uint256 amount, uint256 remaining);
    error TransferFailed(address account, uint256 amount);
    error RecordingAlreadyAnchored(bytes32 streamKey);
    error ZeroSegments();

    /// @param admin the DEFAULT_ADMIN_ROLE holder (cold key or multisig)
    /// @param operator the settlement service's hot key (OPERATOR_ROLE)
    /// @param guardian the DAO's veto key (GUARDIAN_ROLE)
    /// @param claimDelay_ seconds between settle() and the first claim (the audit window)
    /// @param claimWindow_ seconds during which claims are accepted; 0 = forever
    /// @dev The operator must be neither the admin nor the guardian (RoleConflict),
    /// here and for every later grant or admin handover: see _grantRole.
    constructor(address admin, address operator, address guardian, uint64 claimDelay_, uint64 claimWindow_)
        AccessControlDefaultAdminRules(ADMIN_TRANSFER_DELAY, admin)
    {
        if (operator == address(0) || guardian == address(0)) revert ZeroAddress();
        if (claimDelay_ > CLAIM_DELAY_MAX) revert ClaimDelayTooLong(claimDelay_, CLAIM_DELAY_MAX);
        if (claimWindow_ > CLAIM_WINDOW_MAX) revert ClaimWindowTooLong(claimWindow_, CLAIM_WINDOW_MAX);
        _claimDelay = claimDelay_;
        _claimWindow = claimWindow_;
        _grantRole(GUARDIAN_ROLE, guardian);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @dev Keeps the hot key apart from the other roles for the vault's whole life:
    /// an account holding OPERATOR_ROLE can never also hold GUARDIAN_ROLE or the
    /// admin role (a leaked operator key must not be able to grant roles or veto
    /// its own batches' audit), whichever is granted first. This covers the
    /// constructor, grantRole and acceptDefaultAdminTransfer.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        bool conflict = role == OPERATOR_ROLE
            ? hasRole(GUARDIAN_ROLE, account) || hasRole(DEFAULT_ADMIN_ROLE, account)
            : (role == GUARDIAN_ROLE || role == DEFAULT_ADMIN_ROLE) && hasRole(OPERATOR_ROLE, account);
        if (conflict) revert RoleConflict(account);
        return super._grantRole(role, account);
    }

    // ---------------------------------------------------------------- revenue in

    /// @notice Tip stream `streamKey` (= keccak256(bytes(stream_id))) of creator
    /// `creatorKey` (= keccak256(bytes(creator_id))).
    function tip(bytes32 creatorKey, bytes32 streamKey) external payable {
        if (msg.value == 0) revert ZeroValue();
        _receive(creatorKey);
        emit Tipped(creatorKey, streamKey, msg.sender, msg.value);
    }

    /// @notice Revenue forwarded by a pass contract: kind 1 = pass sale, 2 = royalty.
    /// `payer` is the buyer or royalty sender as reported by the source (msg.sender).
    /// Anyone can call it; off-chain attribution trusts only registered sources.
    function deposit(bytes32 creatorKey, uint8 kind, address payer) external payable {
        if (kind != KIND_PASS_SALE && kind != KIND_ROYALTY) revert InvalidKind(kind);
        if (msg.value == 0) revert ZeroValue();
        _receive(creatorKey);
        emit RevenueReceived(creatorKey, msg.sender, kind, payer, msg.value);
    }

    function _receive(bytes32 creatorKey) private {
        _receivedOf[creatorKey] += msg.value;
        _totalReceived += msg.value;
    }

    // ---------------------------------------------------------------- settlement

    /// @notice Allocate `total` of creator `creatorKey`'s unallocated revenue to
    /// batch `batchKey`, whose (address, uint256) tree has root `root`. Claims open
    /// at block.timestamp + claimDelay. Gas is independent of the number of payees.
    function settle(bytes32 batchKey, bytes32 creatorKey, bytes32 root, uint256 total)
        external
        onlyRole(OPERATOR_ROLE)
    {
        if (root == bytes32(0)) revert ZeroRoot();
        if (total == 0) revert ZeroTotal();
        Batch storage b = _batches[batchKey];
        if (b.state != STATE_NONE) revert BatchAlreadyUsed(batchKey);
        uint256 allocated = _allocatedOf[creatorKey];
        uint256 free = _receivedOf[creatorKey] - allocated;
        // total <= free <= _totalReceived, and all ETH in existence is far below
        // 2^128 wei, so the uint128 casts below cannot truncate.
        if (total > free) revert InsufficientUnallocated(creatorKey, total, free);
        _allocatedOf[creatorKey] = allocated + total;
        _totalAllocated += total;
        // claimDelay <= CLAIM_DELAY_MAX, so this fits uint64 for ~5e11 years.
        uint64 claimableAt_ = uint64(block.timestamp) + _claimDelay;
        b.root = root;
        b.remaining = uint128(total);
        b.claimableAt = claimableAt_;
        b.state = STATE_LIVE;
        b.total = uint128(total);
        b.creatorKey = creatorKey;
        emit SettlementAnchored(batchKey, creatorKey, root, total, claimableAt_);
    }

    /// @notice Guardian veto: cancel a batch before its claims open. Its total
    /// returns to the creator's unallocated balance; the key stays used forever.
    function cancelSettlement(bytes32 batchKey) external onlyRole(GUARDIAN_ROLE) {
        Batch storage b = _liveBatch(batchKey);
        uint64 opensAt = b.claimableAt;
        if (block.timestamp >= opensAt) revert AuditWindowClosed(batchKey, opensAt);
        uint256 total = b.remaining; // == b.total: nothing is claimable yet
        bytes32 creatorKey = b.creatorKey;
        b.remaining = 0;
        b.state = STATE_CANCELLED;
        _release(creatorKey, total);
        emit SettlementCancelled(batchKey, creatorKey, total);
    }

    /// @notice After a batch's claim window has closed, return what it still owes
    /// to the creator's unallocated balance, to be settled again.
    function reclaim(bytes32 batchKey) external onlyRole(OPERATOR_ROLE) {
        if (_claimWindow == 0) revert NoClaimWindow();
        Batch storage b = _liveBatch(batchKey);
        uint256 closesAt = uint256(b.claimableAt) + _claimWindow;
        if (block.timestamp < closesAt) revert ClaimWindowOpen(batchKey, closesAt);
        uint256 amount = b.remaining;
        bytes32 creatorKey = b.creatorKey;
        b.remaining = 0;
        b.state = STATE_RECLAIMED;
        _release(creatorKey, amount);
        emit SettlementReclaimed(batchKey, creatorKey, amount);
    }

    function _liveBatch(bytes32 batchKey) private view returns (Batch storage b) {
        b = _batches[batchKey];
        if (b.state == STATE_NONE) revert UnknownBatch(batchKey);
        if (b.state != STATE_LIVE) revert BatchNotLive(batchKey, b.state);
    }

    function _release(bytes32 creatorKey, uint256 amount) private {
        _allocatedOf[creatorKey] -= amount;
        _totalAllocated -= amount;
    }

    /// @notice Pay `amount` to `account` from batch `batchKey`, once per account,
    /// from claimableAt on (until claimableAt + claimWindow when claimWindow > 0).
    /// Anyone may submit the claim; the ETH always goes to `account`.
    function claim(bytes32 batchKey, address account, uint256 amount, bytes32[] calldata proof)
        external
        nonReentrant
    {
        Batch storage b = _batches[batchKey];
        bytes32 root = b.root;
        if (root == bytes32(0)) revert UnknownBatch(batchKey);
        uint8 state = b.state;
        if (state != STATE_LIVE) revert BatchNotLive(batchKey, state);
        uint64 opensAt = b.claimableAt;
        if (block.timestamp < opensAt) revert NotYetClaimable(batchKey, opensAt);
        if (_claimWindow != 0 && block.timestamp >= uint256(opensAt) + _claimWindow) {
            revert ClaimWindowClosed(batchKey, uint256(opensAt) + _claimWindow);
        }
        if (_claimed[batchKey][account]) revert AlreadyClaimed(batchKey, account);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof();
        uint256 remaining = b.remaining;
        if (amount > remaining) revert BatchOverdrawn(batchKey, amount, remaining);

        _claimed[batchKey][account] = true;
        b.remaining = uint128(remaining - amount);
        emit Claimed(batchKey, account, amount);

        // A plain call that copies no return data: a payee returning a huge
        // buffer cannot make the claim pay for copying it.
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), account, amount, 0, 0, 0, 0)
        }
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

    function settlementCreator(bytes32 batchKey) external view returns (bytes32) {
        return _batches[batchKey].creatorKey;
    }

    function claimableAt(bytes32 batchKey) external view returns (uint64) {
        return _batches[batchKey].claimableAt;
    }

    /// @notice What the batch still owes its payees (0 once cancelled or reclaimed).
    function settlementRemaining(bytes32 batchKey) external view returns (uint256) {
        return _batches[batchKey].remaining;
    }

    function recordingRoot(bytes32 streamKey) external view returns (bytes32) {
        return _recordingRoots[streamKey];
    }

    function claimed(bytes32 batchKey, address account) external view returns (bool) {
        return _claimed[batchKey][account];
    }

    function receivedOf(bytes32 creatorKey) external view returns (uint256) {
        return _receivedOf[creatorKey];
    }

    /// @notice Creator revenue not allocated to a live batch (nor yet claimed).
    function unallocatedOf(bytes32 creatorKey) external view returns (uint256) {
        return _receivedOf[creatorKey] - _allocatedOf[creatorKey];
    }

    /// @notice Revenue of all creators not allocated to a batch.
    function unallocated() external view returns (uint256) {
        return _totalReceived - _totalAllocated;
    }

    function claimDelay() external view returns (uint64) {
        return _claimDelay;
    }

    function claimWindow() external view returns (uint64) {
        return _claimWindow;
    }
}
